import Foundation
import Support

/// Writes COCO instances and captions files that pycocotools, detectron2 and mmdetection load.
///
/// The bytes are deterministic: the same dataset always gives the same file. Top-level keys come in the order
/// info, licenses, images, annotations, categories, with one record per line:
///
///     {
///     "info": {"description": "DataEngine dataset", "version": "1.0"},
///     "licenses": [],
///     "images": [
///     {"id": 1, "file_name": "a.jpg", "width": 640, "height": 480},
///     ...
///     ],
///     "annotations": [
///     {"id": 7, "image_id": 1, "category_id": 18, "bbox": [473.07, 395.93, 38.65, 28.67], "area": 702.1, "iscrowd": 0, "segmentation": [[...]]},
///     ...
///     ],
///     "categories": [
///     {"id": 1, "name": "person", "supercategory": "person"},
///     ...
///     ]
///     }
///
/// - images: id, file_name, width, height; then, for generated images (provenance set), reference_image_id,
///   variant, seed, encode_ratio, guidance, scheduler, steps, tap_timestep, prompt (each only when set). The
///   seed is an unsigned 64-bit number, written as a decimal string ("16045690984503111693"): half of all
///   seeds are above 2^63, which BSON, Arrow and SQLite refuse and JavaScript rounds.
/// - annotations: id, image_id, category_id, bbox, area, iscrowd (0/1), segmentation (its source bytes verbatim
///   when there is one; otherwise as `SegmentationFill` says: the box as a polygon, `[]` or no key), then score,
///   attribute, difficult, truncated (each only when set; flags 0/1).
/// - categories: id, name, supercategory (when set).
/// - info and licenses: as loaded, or `defaultInfo` / `defaultLicenses` (no timestamps, so no churn).
///
/// A NaN or infinite number cannot be written as JSON: encoding throws a DatasetError naming the record.
public enum COCOWriter {
    /// What an annotation without a segmentation of its own (generated labels, VOC boxes) gets as `segmentation`.
    public enum SegmentationFill: String, Codable, Sendable {
        /// The box as a 4-point polygon `[[x,y, x+w,y, x+w,y+h, x,y+h]]`: pycocotools' `annToMask` and
        /// torchvision's COCO wrapper with masks read it (a missing key is a KeyError, `[]` an IndexError).
        case box
        /// `[]`: for tools that want the key but no mask.
        case empty
        /// No `segmentation` key.
        case omit = "none"
    }

    public static let defaultInfo = RawJSON(#"{"description": "DataEngine dataset", "version": "1.0"}"#)
    public static let defaultLicenses = RawJSON("[]")

    /// The instances file's bytes.
    public static func encode(_ dataset: DetectionDataset, segmentation fill: SegmentationFill = .omit) throws -> [UInt8] {
        try encode(dataset, file: "COCO output", segmentation: fill)
    }

    /// Writes the instances file atomically (temp file, fsync, rename): readers never see half a file.
    public static func write(_ dataset: DetectionDataset, to url: URL, segmentation fill: SegmentationFill = .omit) throws {
        try AtomicFile.write(encode(dataset, file: url.path, segmentation: fill), to: url)
    }

    /// The captions file's bytes: info, licenses, images (as in the instances file) and the captions as
    /// `annotations` of `{"id", "image_id", "caption"}`.
    public static func encodeCaptions(_ dataset: DetectionDataset) throws -> [UInt8] {
        try encodeCaptions(dataset, file: "COCO captions output")
    }

    /// Writes the captions file atomically.
    public static func writeCaptions(_ dataset: DetectionDataset, to url: URL) throws {
        try AtomicFile.write(encodeCaptions(dataset, file: url.path), to: url)
    }

    /// Where the records of one of a file's lists lie: record k is bytes `range(k)` (records are separated by
    /// `,\n`, the first follows `[\n`).
    public struct Records: Sendable, Equatable {
        public var first: Int
        public var ends: [Int]
        public init(first: Int, ends: [Int]) { self.first = first; self.ends = ends }
        public var count: Int { ends.count }
        public func range(_ k: Int) -> Range<Int> { (k == 0 ? first : ends[k - 1] + 2)..<ends[k] }
    }

    /// Where the parts of an instances or captions file lie: the header (`{`, info, licenses) is `0..<headerEnd`,
    /// then the `images` and `annotations` lists, then the tail from `tailStart` (`,\n"categories": [...]\n}\n`
    /// in an instances file, `\n}\n` in a captions file). Files of one dataset's parts can be spliced from these.
    public struct Layout: Sendable, Equatable {
        public var headerEnd: Int
        public var images: Records
        public var annotations: Records
        public var tailStart: Int
        public init(headerEnd: Int, images: Records, annotations: Records, tailStart: Int) {
            (self.headerEnd, self.images, self.annotations, self.tailStart) = (headerEnd, images, annotations, tailStart)
        }
    }

    // MARK: Layout

    static func encode(_ d: DetectionDataset, file: String, segmentation fill: SegmentationFill = .omit) throws -> [UInt8] {
        try encodeWithLayout(d, file: file, segmentation: fill).bytes
    }

    /// The instances file's bytes and where each record lies in them.
    public static func encodeWithLayout(_ d: DetectionDataset, file: String, segmentation fill: SegmentationFill = .omit) throws -> (bytes: [UInt8], layout: Layout) {
        var segmentationBytes = 0
        for a in d.annotations { segmentationBytes += a.segmentation?.range.count ?? 0 }
        var out = JSONEmitter(capacity: segmentationBytes + 160 * d.annotations.count + 120 * d.images.count + 80 * d.categories.count + 256)
        header(d, into: &out)
        let headerEnd = out.bytes.count
        let images = try parallelList("images", d.images, into: &out) { out, i, image in try self.image(image, index: i, file: file, into: &out) }
        out.raw(",\n")
        let annotations = try parallelList("annotations", d.annotations, into: &out) { out, i, a in try annotation(a, index: i, file: file, fill: fill, into: &out) }
        let tailStart = out.bytes.count
        out.raw(",\n")
        list("categories", d.categories, into: &out) { out, _, c in category(c, into: &out) }
        out.raw("\n}\n")
        return (out.bytes, Layout(headerEnd: headerEnd, images: images, annotations: annotations, tailStart: tailStart))
    }

    static func encodeCaptions(_ d: DetectionDataset, file: String) throws -> [UInt8] {
        try encodeCaptionsWithLayout(d, file: file).bytes
    }

    /// The captions file's bytes and where each record lies in them.
    public static func encodeCaptionsWithLayout(_ d: DetectionDataset, file: String) throws -> (bytes: [UInt8], layout: Layout) {
        var out = JSONEmitter(capacity: 120 * d.images.count + 120 * d.captions.count + 256)
        header(d, into: &out)
        let headerEnd = out.bytes.count
        let images = try list("images", d.images, into: &out) { out, i, image in try self.image(image, index: i, file: file, into: &out) }
        out.raw(",\n")
        let captions = list("annotations", d.captions, into: &out) { out, _, c in caption(c, into: &out) }
        let tailStart = out.bytes.count
        out.raw("\n}\n")
        return (out.bytes, Layout(headerEnd: headerEnd, images: images, annotations: captions, tailStart: tailStart))
    }

    /// A caption record: `{"id": 1, "image_id": 7, "caption": "..."}`.
    package static func caption(_ c: Caption, into out: inout JSONEmitter) {
        out.raw("{\"id\": ")
        out.int(c.id)
        out.raw(", \"image_id\": ")
        out.int(c.imageId)
        out.raw(", \"caption\": ")
        out.string(c.text)
        out.byte(UInt8(ascii: "}"))
    }

    static func header(_ d: DetectionDataset, into out: inout JSONEmitter) {
        out.raw("{\n\"info\": ")
        out.raw(d.info ?? defaultInfo)
        out.raw(",\n\"licenses\": ")
        out.raw(d.licenses ?? defaultLicenses)
        out.raw(",\n")
    }

    /// `"name": [\n{...},\n{...}\n]` (or `[]` when empty). Returns where the records lie.
    @discardableResult
    static func list<T>(_ name: StaticString, _ items: [T], into out: inout JSONEmitter,
                        _ item: (inout JSONEmitter, Int, T) throws -> Void) rethrows -> Records {
        out.byte(UInt8(ascii: "\""))
        out.raw(name)
        out.raw("\": [")
        var records = Records(first: out.bytes.count + 1, ends: [])
        records.ends.reserveCapacity(items.count)
        for (i, x) in items.enumerated() {
            out.raw(i == 0 ? "\n" : ",\n")
            try item(&out, i, x)
            records.ends.append(out.bytes.count)
        }
        out.raw(items.isEmpty ? "]" : "\n]")
        return records
    }

    /// `list`, its records encoded on all cores in contiguous chunks (each record's bytes depend on it alone, so
    /// the joined chunks are the same bytes). For train2017-sized files; small lists stay on one thread.
    static func parallelList<T: Sendable>(_ name: StaticString, _ items: [T], into out: inout JSONEmitter,
                                          _ item: @Sendable (inout JSONEmitter, Int, T) throws -> Void) throws -> Records {
        let chunkCount = min(AvailableCPUs.current.count * 4, items.count / 20_000)
        guard chunkCount > 1 else { return try list(name, items, into: &out, item) }
        let capacity = out.bytes.capacity / chunkCount
        let parts = try parallelMap(count: chunkCount) { c in
            var part = JSONEmitter(capacity: capacity)
            var ends: [Int] = []
            for i in items.count * c / chunkCount ..< items.count * (c + 1) / chunkCount {
                part.raw(i == 0 ? "\n" : ",\n")
                try item(&part, i, items[i])
                ends.append(part.bytes.count)
            }
            return (part.bytes, ends)
        }
        out.byte(UInt8(ascii: "\""))
        out.raw(name)
        out.raw("\": [")
        var records = Records(first: out.bytes.count + 1, ends: [])
        records.ends.reserveCapacity(items.count)
        for (bytes, ends) in parts {
            let base = out.bytes.count
            records.ends += ends.map { $0 + base }
            out.bytes.append(contentsOf: bytes)
        }
        out.raw("\n]")
        return records
    }

    // MARK: Records

    static func image(_ image: ImageInfo, index: Int, file: String, into out: inout JSONEmitter) throws {
        out.raw("{\"id\": ")
        out.int(image.id)
        out.raw(", \"file_name\": ")
        out.string(image.fileName)
        out.raw(", \"width\": ")
        out.int(image.width)
        out.raw(", \"height\": ")
        out.int(image.height)
        if let p = image.provenance {
            func number(_ key: StaticString, _ v: Double) throws {
                out.raw(key)
                guard out.double(v) else { throw nonFinite(key, v, file: file, record: COCOParser.record("image", index, id: image.id)) }
            }
            out.raw(", \"reference_image_id\": ")
            out.int(p.referenceImageId)
            out.raw(", \"variant\": ")
            out.int(p.variant)
            out.raw(", \"seed\": \"")
            out.uint(p.seed)
            out.byte(UInt8(ascii: "\""))
            if let v = p.encodeRatio { try number(", \"encode_ratio\": ", v) }
            if let v = p.guidance { try number(", \"guidance\": ", v) }
            if let v = p.scheduler { out.raw(", \"scheduler\": "); out.string(v) }
            if let v = p.steps { out.raw(", \"steps\": "); out.int(v) }
            if let v = p.tapTimestep { out.raw(", \"tap_timestep\": "); out.int(v) }
            if let v = p.prompt { out.raw(", \"prompt\": "); out.string(v) }
        }
        out.byte(UInt8(ascii: "}"))
    }

    @inline(__always)
    static func annotation(_ a: Annotation, index: Int, file: String, fill: SegmentationFill = .omit, into out: inout JSONEmitter) throws {
        func number(_ key: StaticString, _ v: Double) throws {
            out.raw(key)
            guard out.double(v) else { throw nonFinite(key, v, file: file, record: COCOParser.record("annotation", index, id: a.id)) }
        }
        out.raw("{\"id\": ")
        out.int(a.id)
        out.raw(", \"image_id\": ")
        out.int(a.imageId)
        out.raw(", \"category_id\": ")
        out.int(a.categoryId)
        try number(", \"bbox\": [", a.bbox.x)
        try number(", ", a.bbox.y)
        try number(", ", a.bbox.width)
        try number(", ", a.bbox.height)
        try number("], \"area\": ", a.area)
        out.raw(a.isCrowd ? ", \"iscrowd\": 1" : ", \"iscrowd\": 0")
        if let s = a.segmentation {
            out.raw(", \"segmentation\": ")
            out.raw(s)
        } else if fill == .box {
            let b = a.bbox
            try number(", \"segmentation\": [[", b.x)
            try number(", ", b.y)
            try number(", ", b.x + b.width)
            try number(", ", b.y)
            try number(", ", b.x + b.width)
            try number(", ", b.y + b.height)
            try number(", ", b.x)
            try number(", ", b.y + b.height)
            out.raw("]]")
        } else if fill == .empty {
            out.raw(", \"segmentation\": []")
        }
        if let v = a.score { try number(", \"score\": ", v) }
        if let v = a.attribute { out.raw(", \"attribute\": "); out.string(v) }
        if let v = a.difficult { out.raw(v ? ", \"difficult\": 1" : ", \"difficult\": 0") }
        if let v = a.truncated { out.raw(v ? ", \"truncated\": 1" : ", \"truncated\": 0") }
        out.byte(UInt8(ascii: "}"))
    }

    static func category(_ c: Category, into out: inout JSONEmitter) {
        out.raw("{\"id\": ")
        out.int(c.id)
        out.raw(", \"name\": ")
        out.string(c.name)
        if let s = c.supercategory {
            out.raw(", \"supercategory\": ")
            out.string(s)
        }
        out.byte(UInt8(ascii: "}"))
    }

    static func nonFinite(_ key: StaticString, _ v: Double, file: String, record: String) -> DatasetError {
        let name = "\(key)".split(separator: "\"").first { $0.contains { $0.isLetter } }.map(String.init) ?? "bbox"
        return DatasetError(file: file, location: record, message: "\"\(name)\" is \(v), which JSON cannot hold",
                            hint: "fix the value before writing (was it computed from an empty box or a failed model output?)")
    }
}
