import Foundation
/// Ids of generated images and their boxes, from the reference's id and the variant number, so that every unit
/// names its outputs without coordination and the ids never collide with the reference dataset's (COCO ids are
/// below 10^12): image `10^12 + reference * 1000 + variant`, box `10^12 + (reference * 1000 + variant) * 1000 + k`.
/// Readable: image 1000000042003 is variant 3 of reference 42. Exact in a JSON double (< 2^53) for references
/// below 9 * 10^9.
public enum GeneratedIds {
    public static let base = 1_000_000_000_000
    public static let maxVariants = 1000
    public static let maxBoxes = 1000

    public static func image(reference: Int, variant: Int) -> Int { base + reference * maxVariants + variant }

    public static func box(reference: Int, variant: Int, index: Int) -> Int {
        base + (reference * maxVariants + variant) * maxBoxes + index
    }

    /// The generated image's file name: the reference's stem and the variant, `000000000042_v003.jpg`.
    public static func fileName(referenceFileName: String, variant: Int) -> String {
        let last = referenceFileName.split(separator: "/").last.map(String.init) ?? referenceFileName
        let stem = last.contains(".") ? String(last[..<last.lastIndex(of: ".")!]) : last
        return stem + "_v" + String(format: "%03d", variant) + ".jpg"
    }
}
