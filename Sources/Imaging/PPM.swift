import Foundation

/// Binary PPM (P6), the simplest RGB file format: handy for debugging, opened by most viewers.
public enum PPM {
    public static func encode(_ image: RGBImage) -> [UInt8] {
        Array("P6\n\(image.width) \(image.height)\n255\n".utf8) + image.pixels
    }

    public static func write(_ image: RGBImage, to url: URL) throws {
        try FileIO.writeAtomically(encode(image), path: url.path)
    }
}
