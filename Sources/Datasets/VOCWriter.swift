import Foundation
import Support

/// Writes a `DetectionDataset` as a Pascal VOC devkit:
///
///     <root>/<year>/Annotations/<stem>.xml
///     <root>/<year>/ImageSets/Main/<split>.txt
///
/// Images are not copied: the caller puts them at `<root>/<year>/JPEGImages/<stem>.jpg`. The stem of an image
/// is its file name's last path component without the extension ("VOC2007/JPEGImages/000005.jpg" → 000005).
///
/// Each annotation file has the layout of the VOC devkit's own files (tab-indented; `folder`, `filename`,
/// `size` with depth 3, `segmented` 0, then one `object` per annotation in the given order). Per object:
/// - `name` is the category's name; `pose` is `Unspecified`.
/// - `truncated` and `difficult` are always written, 1 for true and 0 for false or nil (the VOC evaluation
///   code and most VOC loaders require both elements), so a nil flag reads back as false.
/// - `bndbox` holds 1-based inclusive integer corners (`VOCCoordinates.integerCorners(of:width:height:)`):
///   each edge rounded to the nearest pixel, inside the image, `xmax > xmin` and `ymax > ymin`.
/// - When present, `Annotation.score` is written as `<score>` (shortest decimal that reads back exactly) and
///   `Annotation.attribute` as `<attribute>`, both after `bndbox`. VOC tools ignore unknown elements;
///   `VOCReader` reads both back.
/// The same input always gives the same bytes. All files are written through `AtomicFile`.
public enum VOCWriter {
    /// The annotation XML of one image.
    /// - Parameters:
    ///   - folder: the `<folder>` value, normally the year folder ("VOC2007").
    ///   - categories: used to name the objects; an annotation whose category id is not among them is written
    ///     with the name `category-<id>` (the dataset-level `write` refuses such datasets instead).
    public static func annotationXML(for image: ImageInfo, annotations: [Annotation], categories: [Category],
                                     folder: String) -> String {
        var names: [Int: String] = [:]
        for c in categories where names[c.id] == nil { names[c.id] = c.name }
        var x = "<annotation>\n"
        x += "\t<folder>\(MiniXML.escapeText(folder))</folder>\n"
        x += "\t<filename>\(MiniXML.escapeText(lastComponent(of: image.fileName)))</filename>\n"
        x += "\t<size>\n"
        x += "\t\t<width>\(image.width)</width>\n"
        x += "\t\t<height>\(image.height)</height>\n"
        x += "\t\t<depth>3</depth>\n"
        x += "\t</size>\n"
        x += "\t<segmented>0</segmented>\n"
        for a in annotations {
            let c = VOCCoordinates.integerCorners(of: a.bbox, width: image.width, height: image.height)
            x += "\t<object>\n"
            x += "\t\t<name>\(MiniXML.escapeText(names[a.categoryId] ?? "category-\(a.categoryId)"))</name>\n"
            x += "\t\t<pose>Unspecified</pose>\n"
            x += "\t\t<truncated>\(a.truncated == true ? 1 : 0)</truncated>\n"
            x += "\t\t<difficult>\(a.difficult == true ? 1 : 0)</difficult>\n"
            x += "\t\t<bndbox>\n"
            x += "\t\t\t<xmin>\(c.xmin)</xmin>\n"
            x += "\t\t\t<ymin>\(c.ymin)</ymin>\n"
            x += "\t\t\t<xmax>\(c.xmax)</xmax>\n"
            x += "\t\t\t<ymax>\(c.ymax)</ymax>\n"
            x += "\t\t</bndbox>\n"
            if let score = a.score, score.isFinite { x += "\t\t<score>\(score)</score>\n" }
            if let attribute = a.attribute { x += "\t\t<attribute>\(MiniXML.escapeText(attribute))</attribute>\n" }
            x += "\t</object>\n"
        }
        x += "</annotation>\n"
        return x
    }

    /// Writes an image-set list: one stem per line, in the given order, each line ending in "\n".
    /// Throws `DatasetError` for a stem that cannot be a line of that file (empty, whitespace, a path).
    public static func writeImageSet(stems: [String], to url: URL) throws {
        for (k, stem) in stems.enumerated() {
            try checkStem(stem, file: url.path, record: "stem \(k + 1)")
        }
        var text = ""
        text.reserveCapacity(stems.count * 12)
        for stem in stems { text += stem + "\n" }
        try AtomicFile.write(text, to: url)
    }

    /// Writes the image-set lists of a generated devkit into `mainFolder` (`<year>/ImageSets/Main`): generated
    /// data is training data, so `train.txt` and `trainval.txt` list every stem, `val.txt` is empty (VOC loaders
    /// such as torchvision's and mmdetection's open the split they are given), and `<split>.txt` lists every
    /// stem too when `split` is another name (`test`, or `val` on purpose). Same checks as `writeImageSet`.
    public static func writeImageSets(stems: [String], to mainFolder: URL, split: String) throws {
        try checkPlainName(split, what: "split", file: mainFolder.path)
        for name in Set(["train", "val", "trainval", split]).sorted() {
            try writeImageSet(stems: name == "val" && split != "val" ? [] : stems,
                              to: mainFolder.appendingPathComponent(name + ".txt"))
        }
    }

    /// The header of datumaro's and CVAT's VOC `labelmap.txt`.
    public static let labelMapHeader = "# label:color_rgb:parts:actions"

    /// `labelmap.txt` as datumaro and CVAT read and write it beside `Annotations/`: the header line, then one
    /// `name:r,g,b::` line per class (no parts, no actions). `background` (0,0,0) comes first, as in VOC and
    /// datumaro, unless a category already has that name; then the categories in ascending id order. The
    /// colour of line k (background is 0) is VOC's segmentation palette entry k (aeroplane 128,0,0, bicycle
    /// 0,128,0, ...), so VOC's own classes get VOC's colours. Throws for a name datumaro cannot read back
    /// (`classNameRefusal`).
    public static func labelMap(categories: [Category], file: String = "labelmap.txt") throws -> String {
        let sorted = categories.sorted { $0.id < $1.id }
        for c in sorted {
            if let why = classNameRefusal(c.name) {
                throw DatasetError(file: file, location: "category id \(c.id)", message: "the name \"\(c.name)\" \(why)",
                                   hint: classNameHint)
            }
        }
        let names = (sorted.contains { $0.name == "background" } ? [] : ["background"]) + sorted.map(\.name)
        var text = labelMapHeader + "\n"
        for (k, name) in names.enumerated() {
            let (r, g, b) = paletteColor(k)
            text += "\(name):\(r),\(g),\(b)::\n"
        }
        return text
    }

    /// Writes `labelMap(categories:)` atomically.
    public static func writeLabelMap(categories: [Category], to url: URL) throws {
        try AtomicFile.write(try labelMap(categories: categories, file: url.path), to: url)
    }

    /// VOC's segmentation palette (the devkit's `VOClabelcolormap`): the bits of `index` spread over the top
    /// bits of r, g and b in turn.
    public static func paletteColor(_ index: Int) -> (UInt8, UInt8, UInt8) {
        var r = 0, g = 0, b = 0, c = index
        for shift in stride(from: 7, through: 0, by: -1) {
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        }
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    /// Why a category name cannot be a VOC class name, or nil. VOC names classes by `<name>`, and datumaro
    /// splits `labelmap.txt` lines at `:`, strips them and skips lines starting with `#`: so no `:`, no control
    /// characters, no surrounding whitespace, not empty, no leading `#`.
    public static func classNameRefusal(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.contains(":") { return "contains ':', the field separator of labelmap.txt" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) { return "contains a control character" }
        if name.first?.isWhitespace == true || name.last?.isWhitespace == true { return "begins or ends with whitespace, which VOC readers strip" }
        if name.hasPrefix("#") { return "begins with '#', a comment in labelmap.txt" }
        return nil
    }

    static let classNameHint = "VOC names classes by name: rename the category in the source (or write COCO, which names classes by id)"

    /// Writes one annotation file.
    public static func writeAnnotation(for image: ImageInfo, annotations: [Annotation], categories: [Category],
                                       folder: String, to url: URL) throws {
        try AtomicFile.write(annotationXML(for: image, annotations: annotations, categories: categories, folder: folder),
                             to: url)
    }

    /// Writes every image of `dataset` to `<root>/<year>/Annotations/<stem>.xml` and the list of stems, in
    /// image order, to `<root>/<year>/ImageSets/Main/<split>.txt`. Returns the stems.
    ///
    /// Throws `DatasetError` before writing anything when two images have the same stem, a stem is not a plain
    /// file name, an annotation names an image or category the dataset does not have, or `year` / `split`
    /// is not a plain folder / file name.
    @discardableResult
    public static func write(_ dataset: DetectionDataset, to root: URL, year: String, split: String) throws -> [String] {
        try checkPlainName(year, what: "year", file: root.path)
        try checkPlainName(split, what: "split", file: root.path)
        let yearDir = root.appendingPathComponent(year)
        var stems: [String] = []
        var seen: [String: String] = [:]
        for image in dataset.images {
            let stem = stemOf(image.fileName)
            try checkStem(stem, file: image.fileName, record: "image id \(image.id)")
            if let other = seen[stem] {
                throw DatasetError(file: image.fileName, location: "image id \(image.id)",
                                   message: "has the same stem \(stem) as \(other); VOC names annotation files by stem",
                                   hint: "rename one of the images (give generated images unique file names)")
            }
            seen[stem] = image.fileName
            stems.append(stem)
        }
        let categoryIds = Set(dataset.categories.map(\.id))
        let imageIds = Set(dataset.images.map(\.id))
        for a in dataset.annotations {
            if !categoryIds.contains(a.categoryId) {
                throw DatasetError(file: root.path, location: "annotation id \(a.id)",
                                   message: "category id \(a.categoryId) is not among the dataset's categories",
                                   hint: "add the category or drop the annotation before writing")
            }
            if !imageIds.contains(a.imageId) {
                throw DatasetError(file: root.path, location: "annotation id \(a.id)",
                                   message: "image id \(a.imageId) is not among the dataset's images",
                                   hint: "drop annotations of removed images before writing")
            }
        }
        let byImage = dataset.annotationsByImage()
        let annotationsDir = yearDir.appendingPathComponent("Annotations")
        try AtomicFile.makeDirectories(annotationsDir.path)
        for (image, stem) in zip(dataset.images, stems) {
            try writeAnnotation(for: image, annotations: byImage[image.id] ?? [], categories: dataset.categories,
                                folder: year, to: annotationsDir.appendingPathComponent(stem + ".xml"))
        }
        try writeImageSet(stems: stems, to: yearDir.appendingPathComponent("ImageSets/Main").appendingPathComponent(split + ".txt"))
        return stems
    }

    /// "VOC2007/JPEGImages/000005.jpg" → "000005".
    public static func stemOf(_ fileName: String) -> String {
        let last = lastComponent(of: fileName)
        guard let dot = last.lastIndex(of: "."), dot != last.startIndex else { return last }
        return String(last[..<dot])
    }

    static func lastComponent(of path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }

    /// Why a year folder or split name is not a plain name, or nil.
    public static func plainNameRefusal(_ value: String) -> String? {
        if value.isEmpty || value.contains("/") || value.hasPrefix(".") || value.contains("\\")
            || value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
            return "is not a plain folder or file name"
        }
        return nil
    }

    static func checkPlainName(_ value: String, what: String, file: String) throws {
        if let why = plainNameRefusal(value) {
            throw DatasetError(file: file, message: "the \(what) \"\(value)\" \(why)", hint: "use names like VOC2007 and trainval")
        }
    }

    /// Why VOC cannot hold `stem` as an image name (a line of an image-set list, `<stem>.xml`), or nil: empty,
    /// whitespace (the lists are split at whitespace), control characters, a path, or hidden.
    public static func stemRefusal(_ stem: String) -> String? {
        let bad = stem.isEmpty || stem.hasPrefix(".") || stem.contains("/") || stem.contains("\\")
            || stem.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F }
        return bad ? "empty, whitespace, a control character, a path or hidden" : nil
    }

    static func checkStem(_ stem: String, file: String, record: String) throws {
        if stemRefusal(stem) != nil {
            throw DatasetError(file: file, location: record,
                               message: "\"\(stem)\" cannot be a VOC image name (empty, whitespace, a path or hidden)",
                               hint: "VOC image names are plain file stems such as 000005 or 2008_000123")
        }
    }
}
