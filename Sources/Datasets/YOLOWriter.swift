import Foundation
import Support

/// Writes YOLO labels in the ultralytics layout:
///
///     <root>/data.yaml
///     <root>/images/<stem>.jpg          (the caller copies the images)
///     <root>/labels/<stem>.txt          one line per box: `class cx cy w h`
///
/// - Classes are contiguous indices 0..K-1 over the categories in ascending id order (COCO's ids 1..90 with
///   gaps become 0..79); `data.yaml` maps them back to the names.
/// - A label line is the class index and the box's centre, width and height divided by the image's width
///   and height, each with 6 decimals. Boxes are clipped to the image first; a box with nothing inside the image,
///   a crowd region (YOLO has none; ultralytics' own COCO converter leaves them out) and a box whose category is
///   not among the categories are left out and counted. Scores and attributes are not written: ultralytics reads
///   extra columns as polygon points.
/// - An image without boxes gets an empty label file (a background image to ultralytics).
/// The same input always gives the same bytes. All files are written through `AtomicFile`.
public enum YOLOWriter {
    /// What `labels(for:annotations:classes:)` left out.
    public struct Omitted: Equatable, Sendable {
        public var crowd = 0
        public var outsideImage = 0
        public var unknownCategory = 0
        public init() {}
    }

    /// Category id -> class index, over the categories in ascending id order.
    public static func classIndices(_ categories: [Category]) -> [Int: Int] {
        var indices: [Int: Int] = [:]
        for c in categories.sorted(by: { $0.id < $1.id }) where indices[c.id] == nil { indices[c.id] = indices.count }
        return indices
    }

    /// One image's label file.
    public static func labels(for image: ImageInfo, annotations: [Annotation], classes: [Int: Int]) -> (text: String, omitted: Omitted) {
        var omitted = Omitted()
        var text = ""
        let width = Double(image.width), height = Double(image.height)
        for a in annotations {
            guard !a.isCrowd else { omitted.crowd += 1; continue }
            guard let index = classes[a.categoryId] else { omitted.unknownCategory += 1; continue }
            guard width > 0, height > 0, a.bbox.x.isFinite, a.bbox.y.isFinite, a.bbox.width.isFinite, a.bbox.height.isFinite,
                  let b = a.bbox.clipped(toWidth: width, height: height) else { omitted.outsideImage += 1; continue }
            text += "\(index) " + String(format: "%.6f %.6f %.6f %.6f\n", (b.x + b.width / 2) / width, (b.y + b.height / 2) / height,
                           b.width / width, b.height / height)
        }
        return (text, omitted)
    }

    /// `data.yaml`: a comment, `train: images`, `val: images` (generated data is training data; ultralytics needs a
    /// `val`), and `names` mapping the class indices to the category names. No `path`: ultralytics then takes this
    /// file's folder, so the dataset can be moved and two runs write the same bytes. Strings are double-quoted (a
    /// class named `yes` or `null` stays a string).
    public static func dataYAML(categories: [Category]) -> String {
        var seen = Set<Int>()
        let sorted = categories.sorted { $0.id < $1.id }.filter { seen.insert($0.id).inserted }
        var text = """
            # YOLO dataset (ultralytics layout) written by DataEngine: images/ and labels/ beside this file.
            # No `path` key: ultralytics uses this file's folder.

            """
        text += "train: images\nval: images\nnames:\n"
        for (k, c) in sorted.enumerated() { text += "  \(k): \(quoted(c.name))\n" }
        return text
    }

    /// A YAML double-quoted scalar: `"` and `\` escaped, control characters as escapes, the rest as is.
    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// Why YOLO tools cannot hold `stem` as an image name, or nil: empty, hidden (ultralytics' glob skips dot
    /// files), a path, or a control character. Spaces are fine.
    public static func stemRefusal(_ stem: String) -> String? {
        let bad = stem.isEmpty || stem.hasPrefix(".") || stem.contains("/") || stem.contains("\\")
            || stem.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        return bad ? "empty, hidden, a path or a control character" : nil
    }

    /// Writes one label file.
    public static func writeLabels(for image: ImageInfo, annotations: [Annotation], classes: [Int: Int], to url: URL) throws -> Omitted {
        let (text, omitted) = labels(for: image, annotations: annotations, classes: classes)
        try AtomicFile.write(text, to: url)
        return omitted
    }

    /// Writes `data.yaml` into `root`.
    public static func writeDataYAML(root: URL, categories: [Category]) throws {
        try AtomicFile.write(dataYAML(categories: categories), to: root.appendingPathComponent("data.yaml"))
    }
}
