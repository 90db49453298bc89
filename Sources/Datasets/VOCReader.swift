import Foundation
import Support
#if canImport(Glibc)
import Glibc
#endif

/// Reads Pascal VOC annotations from a VOCdevkit folder:
///
///     <devkit>/VOC2007/ImageSets/Main/trainval.txt     one image stem per line
///     <devkit>/VOC2007/Annotations/000005.xml          one annotation file per image
///     <devkit>/VOC2007/JPEGImages/000005.jpg           (never opened by the reader)
///
/// What the loaded dataset looks like:
/// - `ImageInfo.fileName` is relative to the devkit root ("VOC2007/JPEGImages/000005.jpg"), so several years
///   share one image root. It follows the devkit layout (`JPEGImages/<stem>.jpg`); the XML's `<filename>` is
///   not used. Width and height come from the XML's `<size>`.
/// - Image ids are the 1-based position of the stem in the split lists, in the order the splits are given,
///   lines in file order. An image that is skipped (missing or malformed XML) keeps its number unused, so
///   fixing one file never renumbers the others (ids stay stable across runs that resume).
/// - Categories are `classes` in order, ids 1...n.
/// - Annotation ids are 1-based and sequential over the whole dataset, in load order.
/// - Boxes are converted from VOC's 1-based inclusive corners (see `VOCCoordinates`); `area` is the box
///   area; `isCrowd` is false.
/// - `difficult` and `truncated` are never nil: 1/0 (also true/false) as the file says, and **false when the
///   element is missing or empty**, as the VOC devkit's own reader (VOCreadrecxml.m) does. So VOC -> model
///   -> VOC -> model gives identical records (`VOCWriter` always writes both; nil, from other sources, as 0).
/// - `<score>` and `<attribute>` elements inside an `<object>` (as `VOCWriter` writes them) are read back
///   into `Annotation.score` and `Annotation.attribute`.
/// - Only an object's own `<bndbox>` is read; the `<part>` boxes of VOC2012 person layout are ignored.
///
/// Problems in single files are collected as `LoadIssue`s and the record is skipped, clipped or kept as
/// described there; problems with the request itself (a split file that is not there, an image listed
/// twice, a bad split name) throw `DatasetError`.
public enum VOCReader {
    /// VOC's 20 classes in the standard order (category ids 1...20).
    public static let defaultClasses: [String] = [
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    /// Loads the images listed in `splits` ("VOC2007/trainval", "VOC2012/trainval", …) from a VOCdevkit.
    public static func load(devkit: URL, splits: [String], classes: [String] = VOCReader.defaultClasses) throws
        -> DetectionDataset
    {
        try checkClasses(classes, devkit: devkit)
        guard !splits.isEmpty else {
            throw DatasetError(file: devkit.path, message: "no splits given",
                               hint: "name at least one split as YEAR/SPLIT, e.g. VOC2007/trainval")
        }
        let entries = try listImages(devkit: devkit, splits: splits, classes: classes)

        var classIds: [String: Int] = [:]
        for (k, name) in classes.enumerated() { classIds[name] = k + 1 }
        let context = ParseContext(classes: classes, classIds: classIds)

        // Parse in parallel into fixed slots, assemble in list order: the result does not depend on timing.
        var results = [ImageResult?](repeating: nil, count: entries.count)
        let workers = max(1, min(AvailableCPUs.current.count, 16))
        let chunk = max(1, (entries.count + workers * 4 - 1) / (workers * 4))
        let chunks = (entries.count + chunk - 1) / chunk
        results.withUnsafeMutableBufferPointer { slots in
            let base = DisjointSlots(slots)
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for k in (c * chunk)..<min(entries.count, (c + 1) * chunk) {
                    base[k] = readImage(entries[k], devkit: devkit, context: context)
                }
            }
        }

        var dataset = DetectionDataset(categories: classes.enumerated().map { Category(id: $0.offset + 1, name: $0.element) })
        dataset.images.reserveCapacity(entries.count)
        var nextAnnotationId = 1
        for (k, entry) in entries.enumerated() {
            dataset.issues += entry.issues
            guard let result = results[k] else { continue }
            dataset.issues += result.issues
            guard let image = result.image else { continue }
            dataset.images.append(image)
            for var annotation in result.annotations {
                annotation.id = nextAnnotationId
                nextAnnotationId += 1
                dataset.annotations.append(annotation)
            }
        }
        return dataset
    }

    // MARK: - Split lists

    struct ListedImage {
        var id: Int
        var year: String
        var stem: String
        var split: String
        /// Issues found while listing (an unsafe stem); when non-empty the image is not read.
        var issues: [LoadIssue] = []
    }

    static func checkClasses(_ classes: [String], devkit: URL) throws {
        guard !classes.isEmpty else {
            throw DatasetError(file: devkit.path, message: "the class list is empty",
                               hint: "leave `classes` out to use VOC's 20 classes")
        }
        var seen = Set<String>()
        for name in classes where !seen.insert(name).inserted {
            throw DatasetError(file: devkit.path, message: "class \"\(name)\" appears twice in the class list",
                               hint: "each class gets one category id; list it once")
        }
    }

    /// Splits "VOC2007/trainval" into ("VOC2007", "trainval").
    static func splitName(_ split: String, devkit: URL) throws -> (year: String, name: String) {
        let parts = split.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts.contains(".."), !parts.contains("."),
              !parts[1].hasSuffix(".txt") || parts[1].count > 4
        else {
            throw DatasetError(file: devkit.path, message: "split \"\(split)\" is not of the form YEAR/SPLIT",
                               hint: "name splits like VOC2007/trainval or VOC2012/train (the year folder, a slash, "
                                   + "the name of a file in that year's ImageSets/Main without .txt); years here: "
                                   + yearsPresent(devkit: devkit).joined(separator: ", "))
        }
        var name = parts[1]
        if name.hasSuffix(".txt") { name.removeLast(4) }
        return (parts[0], name)
    }

    static func listImages(devkit: URL, splits: [String], classes: [String]) throws -> [ListedImage] {
        var entries: [ListedImage] = []
        var firstListing: [String: (split: String, line: Int)] = [:]
        for split in splits {
            let (year, name) = try splitName(split, devkit: devkit)
            let url = devkit.appendingPathComponent(year).appendingPathComponent("ImageSets/Main")
                .appendingPathComponent(name + ".txt")
            let read = readFile(url.path)
            guard let bytes = read.bytes else {
                if read.errorCode == ENOENT || read.errorCode == ENOTDIR {
                    throw missingSplit(url: url, devkit: devkit, year: year, split: split, classes: classes)
                }
                throw DatasetError(file: url.path, message: "cannot read split \(split): \(String(cString: strerror(read.errorCode)))",
                                   hint: "check the file's permissions")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            var lineNumber = 0
            // By scalars, not Characters: "\r\n" is one Character and would not split at "\n".
            for rawLine in text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                let tokens = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
                    .map { String(String.UnicodeScalarView($0)) }
                if tokens.isEmpty { continue }
                if tokens.count > 1 {
                    throw DatasetError(
                        file: url.path, location: "line \(lineNumber)",
                        message: "expected one image name per line, found \"\(tokens.joined(separator: " "))\"",
                        hint: "this looks like a per-class list (\"<stem> 1/-1/0\"); use a plain split such as "
                            + "\(year)/trainval")
                }
                let stem = tokens[0]
                let key = year + "/" + stem
                if let first = firstListing[key] {
                    let both = first.split == split
                        ? "twice in \(split) (lines \(first.line) and \(lineNumber))"
                        : "in both \(first.split) (line \(first.line)) and \(split) (line \(lineNumber))"
                    throw DatasetError(
                        file: url.path, location: "line \(lineNumber)",
                        message: "image \(stem) of \(year) is listed \(both)",
                        hint: "the splits overlap (trainval = train + val): give each image once, e.g. \(year)/trainval "
                            + "alone, or \(year)/train and \(year)/val")
                }
                firstListing[key] = (split, lineNumber)
                var entry = ListedImage(id: entries.count + 1, year: year, stem: stem, split: split)
                if stem.contains("/") || stem.contains("\\") || stem.hasPrefix(".") || stem.utf8.contains(0) {
                    entry.issues.append(LoadIssue(
                        kind: .unsafePath, file: url.path, record: "line \(lineNumber)",
                        message: "image name \"\(stem)\" would leave the Annotations folder; skipped "
                            + "(an image name is a file stem such as 000005)"))
                }
                entries.append(entry)
            }
        }
        return entries
    }

    static func missingSplit(url: URL, devkit: URL, year: String, split: String, classes: [String]) -> DatasetError {
        let mainDir = devkit.appendingPathComponent(year).appendingPathComponent("ImageSets/Main")
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: mainDir.path, isDirectory: &isDir), isDir.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: mainDir.path)) ?? []
            let classPrefixes = classes.map { $0 + "_" }
            let available = names.filter { $0.hasSuffix(".txt") }
                .map { String($0.dropLast(4)) }
                .filter { name in !classPrefixes.contains { name.hasPrefix($0) } }
                .sorted()
                .map { year + "/" + $0 }
            let list = available.isEmpty ? "none" : available.joined(separator: ", ")
            return DatasetError(file: url.path, message: "split \(split) not found: there is no \(url.lastPathComponent) "
                                    + "in \(mainDir.path)",
                                hint: "splits that exist there: \(list)")
        }
        let years = yearsPresent(devkit: devkit)
        var hint = years.isEmpty
            ? "no VOC year folders (with ImageSets/Main) in \(devkit.path): pass the VOCdevkit folder that contains VOC2007/, VOC2012/"
            : "year folders here: \(years.joined(separator: ", "))"
        if FileManager.default.fileExists(atPath: devkit.appendingPathComponent("ImageSets/Main").path) {
            hint = "\(devkit.path) looks like a year folder itself; pass its parent (the VOCdevkit folder) as the devkit"
        }
        return DatasetError(file: url.path, message: "split \(split) not found: there is no folder \(mainDir.path)",
                            hint: hint)
    }

    static func yearsPresent(devkit: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: devkit.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: devkit.appendingPathComponent($0).appendingPathComponent("ImageSets/Main").path)
        }.sorted()
    }

    // MARK: - One annotation file

    struct ParseContext: Sendable {
        var classes: [String]
        var classIds: [String: Int]
    }

    struct ImageResult {
        var image: ImageInfo?
        /// Ids are placeholders (0) until the dataset is assembled.
        var annotations: [Annotation] = []
        var issues: [LoadIssue] = []
    }

    static func readImage(_ entry: ListedImage, devkit: URL, context: ParseContext) -> ImageResult? {
        guard entry.issues.isEmpty else { return nil }
        let relative = entry.year + "/Annotations/" + entry.stem + ".xml"
        let path = devkit.appendingPathComponent(relative).path
        let read = readFile(path)
        guard let bytes = read.bytes else {
            let reason = read.errorCode == ENOENT ? "no such file" : String(cString: strerror(read.errorCode))
            return ImageResult(issues: [LoadIssue(
                kind: .missingImage, file: path, record: "image \(entry.stem)",
                message: "\(entry.split) lists \(entry.stem) but its annotation file \(relative) cannot be read "
                    + "(\(reason)); image skipped")])
        }
        return parseAnnotation(bytes, file: path, stem: entry.stem, imageId: entry.id,
                               fileName: entry.year + "/JPEGImages/" + entry.stem + ".jpg", context: context)
    }

    /// Parses one VOC annotation file into an image and its annotations (annotation ids left at 0).
    static func parseAnnotation(_ bytes: [UInt8], file: String, stem: String, imageId: Int, fileName: String,
                                context: ParseContext) -> ImageResult {
        var result = ImageResult()
        let record = "image \(stem)"
        let document: MiniXML.Document
        do {
            document = try MiniXML.parse(bytes)
        } catch let error as MiniXML.ParseError {
            result.issues.append(LoadIssue(kind: .malformedRecord, file: file, record: record,
                                           message: "not well-formed XML at \(error.location): \(error.message); image skipped"))
            return result
        } catch {
            result.issues.append(LoadIssue(kind: .malformedRecord, file: file, record: record,
                                           message: "cannot parse: \(error); image skipped"))
            return result
        }
        let root = document.root
        guard root.name == "annotation" else {
            result.issues.append(LoadIssue(kind: .malformedRecord, file: file, record: record,
                                           message: "the root element is <\(root.name)>, expected <annotation>; image skipped"))
            return result
        }
        let size = root.child("size")
        let width = size?.child("width").flatMap { pixelCount($0.text) }
        let height = size?.child("height").flatMap { pixelCount($0.text) }
        guard let width, let height, width > 0, height > 0 else {
            let what: String
            if size == nil {
                what = "has no <size>"
            } else {
                let w = size?.child("width")?.text.vocTrimmed ?? "missing"
                let h = size?.child("height")?.text.vocTrimmed ?? "missing"
                what = "has no usable <size> (width \"\(w)\", height \"\(h)\")"
            }
            result.issues.append(LoadIssue(
                kind: .malformedRecord, file: file, record: record,
                message: "\(what); image skipped. The image's real size is needed to place and check its boxes: "
                    + "fix the XML's <size><width>/<height> (the size of JPEGImages/\(stem).jpg)"))
            return result
        }
        result.image = ImageInfo(id: imageId, fileName: fileName, width: width, height: height)

        for (k, object) in root.children(named: "object").enumerated() {
            let objectRecord = "image \(stem), object \(k + 1)"
            func issue(_ kind: LoadIssue.Kind, _ message: String) {
                let line = document.position(of: object).line  // only on the rare issue path: it scans the file
                result.issues.append(LoadIssue(kind: kind, file: file, record: objectRecord, message: message + " (line \(line))"))
            }
            guard let nameElement = object.child("name") else {
                issue(.malformedRecord, "object has no <name>; object skipped")
                continue
            }
            let className = nameElement.text.vocTrimmed
            guard let categoryId = context.classIds[className] else {
                var message = "class \"\(className)\" is not one of the \(context.classes.count) classes ("
                    + context.classes.joined(separator: ", ") + "); object skipped"
                if let near = NearestName.suggestion(for: className, among: context.classes) {
                    message += ". Did you mean \"\(near)\"?"
                }
                issue(.unknownClass, message)
                continue
            }
            guard let bndbox = object.child("bndbox") else {
                issue(.malformedRecord, "object has no <bndbox>; object skipped")
                continue
            }
            var corners: [Double] = []
            var bad: [String] = []
            for key in ["xmin", "ymin", "xmax", "ymax"] {
                let text = bndbox.child(key)?.text.vocTrimmed
                if let text, let v = Double(text), v.isFinite {
                    corners.append(v)
                } else {
                    bad.append(text.map { "<\(key)> \"\($0)\"" } ?? "no <\(key)>")
                }
            }
            guard bad.isEmpty else {
                issue(.malformedRecord, "bndbox has \(bad.joined(separator: ", ")) (need numbers); object skipped")
                continue
            }
            let (xmin, ymin, xmax, ymax) = (corners[0], corners[1], corners[2], corners[3])
            let written = "xmin \(fmt(xmin)) ymin \(fmt(ymin)) xmax \(fmt(xmax)) ymax \(fmt(ymax))"
            guard xmax >= xmin, ymax >= ymin else {
                issue(.boxDropped, "bndbox \(written) has \(xmax < xmin ? "xmax < xmin" : "ymax < ymin"); object dropped")
                continue
            }
            var box = VOCCoordinates.box(xmin: xmin, ymin: ymin, xmax: xmax, ymax: ymax)
            if box.x < 0 || box.y < 0 || box.maxX > Double(width) || box.maxY > Double(height) {
                guard let clipped = box.clipped(toWidth: Double(width), height: Double(height)) else {
                    issue(.boxDropped, "bndbox \(written) lies entirely outside the \(width)x\(height) image; object dropped")
                    continue
                }
                let c = VOCCoordinates.corners(of: clipped)
                issue(.boxClipped, "bndbox \(written) reaches outside the \(width)x\(height) image; clipped to "
                          + "xmin \(fmt(c.xmin)) ymin \(fmt(c.ymin)) xmax \(fmt(c.xmax)) ymax \(fmt(c.ymax))")
                box = clipped
            }
            func flag(_ key: String) -> Bool {
                guard let element = object.child(key) else { return false }
                switch element.text.vocTrimmed.lowercased() {
                case "0", "false", "": return false
                case "1", "true": return true
                case let other:
                    issue(.malformedRecord, "<\(key)> is \"\(other)\", expected 0 or 1; read as 0")
                    return false
                }
            }
            let difficult = flag("difficult")
            let truncated = flag("truncated")
            var score: Double?
            if let text = object.child("score")?.text.vocTrimmed {
                if let v = Double(text), v.isFinite { score = v } else {
                    issue(.malformedRecord, "<score> is \"\(text)\", not a number; score left out")
                }
            }
            let attribute = object.child("attribute")?.text.vocTrimmed
            result.annotations.append(Annotation(
                id: 0, imageId: imageId, categoryId: categoryId, bbox: box, area: box.area, isCrowd: false,
                difficult: difficult, truncated: truncated, score: score,
                attribute: attribute?.isEmpty == true ? nil : attribute))
        }
        return result
    }

    /// A positive pixel count: "500", also "500.0".
    static func pixelCount(_ text: String) -> Int? {
        let t = text.vocTrimmed
        if let v = Int(t) { return v }
        if let d = Double(t), d.isFinite, d == d.rounded(), abs(d) < 1e9 { return Int(d) }
        return nil
    }

    private static func fmt(_ v: Double) -> String { VOCCoordinates.format(v) }

    // MARK: - File reading

    /// The whole file, or the errno that stopped reading it.
    static func readFile(_ path: String) -> (bytes: [UInt8]?, errorCode: Int32) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (nil, errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return (nil, errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { return (nil, EISDIR) }
        var bytes = [UInt8]()
        var capacity = max(Int(st.st_size), 0) + 1
        var count = 0
        while true {
            if count == bytes.count {
                bytes.append(contentsOf: repeatElement(0, count: max(capacity - bytes.count, 4096)))
                capacity = bytes.count * 2
            }
            let n = bytes.withUnsafeMutableBytes { raw in
                read(fd, raw.baseAddress! + count, raw.count - count)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return (nil, errno)
            }
            if n == 0 { break }
            count += n
        }
        bytes.removeSubrange(count...)
        return (bytes, 0)
    }
}

extension String {
    /// Without leading and trailing ASCII whitespace (space, tab, CR, LF): cheaper than Foundation's
    /// `trimmingCharacters(in:)`, which dominated loading time.
    fileprivate var vocTrimmed: String {
        let utf8 = self.utf8
        guard let first = utf8.first, let last = utf8.last,
              MiniXML.isSpace(first) || MiniXML.isSpace(last) else { return self }
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end && MiniXML.isSpace(utf8[start]) { start = utf8.index(after: start) }
        while end > start && MiniXML.isSpace(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        return String(self[start..<end])
    }
}
