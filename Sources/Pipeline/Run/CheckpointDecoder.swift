import Datasets

/// Unit checkpoints (`UnitOutput`, `UnitRecord`) read on the project's own JSON scanner instead of `JSONDecoder`,
/// whose per-value `Codable` work is most of a merge (and of a resume's reload). It reads exactly the form
/// `Checkpoints.save` writes (JSONEncoder's output for these types) and declines anything else, an unknown key,
/// an integer written as `1.0`, a surrogate escape, so that `Checkpoints.load` falls back to `JSONDecoder`, whose
/// result and error messages stay the reference. Equal to `JSONDecoder`'s result where it answers
/// (`CheckpointDecoderTests`).
struct CheckpointDecoder {
    /// Not the form `Checkpoints.save` writes: the caller decodes with `JSONDecoder` instead.
    struct Declined: Error {}

    private var s: JSONScanner
    private let runRoot: String?

    private init(_ s: JSONScanner, runRoot: String?) {
        self.s = s
        self.runRoot = runRoot
    }

    static func unitOutput(_ json: [UInt8], runRoot: String?) -> UnitOutput? {
        decode(json, runRoot: runRoot) { try $0.unitOutput() }
    }

    static func unitRecord(_ json: [UInt8], runRoot: String?) -> UnitRecord? {
        decode(json, runRoot: runRoot) { d in
            var outputs: [String: UnitOutput]?
            try d.object { d, key in
                guard d.s.key(key, is: "outputs") else { throw Declined() }
                var stages: [String: UnitOutput] = [:]
                try d.object { d, stage in stages[try d.s.string(stage)] = try d.unitOutput() }
                outputs = stages
            }
            guard let outputs else { throw Declined() }
            return UnitRecord(outputs: outputs)
        }
    }

    private static func decode<T>(_ json: [UInt8], runRoot: String?, _ body: (inout CheckpointDecoder) throws -> T) -> T? {
        json.withUnsafeBufferPointer { buffer -> T? in
            guard let base = buffer.baseAddress else { return nil }
            var d = CheckpointDecoder(JSONScanner(base: base, count: buffer.count), runRoot: runRoot)
            do {
                d.s.skipWhitespace()
                let value = try body(&d)
                d.s.skipWhitespace()
                return d.s.atEnd ? value : nil
            } catch {
                return nil
            }
        }
    }

    // MARK: Types

    private mutating func unitOutput() throws -> UnitOutput {
        var out = UnitOutput()
        var seen = 0
        try object { d, key in
            if d.s.key(key, is: "items") { out.items = try d.array { try $0.datasetItem() }; seen |= 1 }
            else if d.s.key(key, is: "dropped") { out.dropped = try d.array { try $0.droppedItem() }; seen |= 2 }
            else if d.s.key(key, is: "counters") {
                try d.object { d, name in out.counters[try d.s.string(name)] = try d.int() }
                seen |= 4
            } else if d.s.key(key, is: "issues") { out.issues = try d.array { try $0.loadIssue() }; seen |= 8 }
            else { throw Declined() }
        }
        guard seen == 15 else { throw Declined() }
        return out
    }

    private mutating func datasetItem() throws -> DatasetItem {
        var image: ImageInfo?, sourcePath: String?, annotations: [Annotation]?, captions: [String]?
        var referenceAnnotations: [Annotation]?, reference: ReferenceSnapshot?, plannedVariant: Int?
        try object { d, key in
            if d.s.key(key, is: "annotations") { annotations = try d.array { try $0.annotation() } }
            else if d.s.key(key, is: "image") { image = try d.imageInfo() }
            else if d.s.key(key, is: "sourcePath") { sourcePath = try d.path() }
            else if d.s.key(key, is: "captions") { captions = try d.array { try $0.string() } }
            else if d.s.key(key, is: "referenceAnnotations") { referenceAnnotations = try d.optional { try $0.array { try $0.annotation() } } }
            else if d.s.key(key, is: "reference") { reference = try d.optional { try $0.referenceSnapshot() } }
            else if d.s.key(key, is: "plannedVariant") { plannedVariant = try d.optional { try $0.int() } }
            else { throw Declined() }
        }
        guard let image, let sourcePath, let annotations, let captions else { throw Declined() }
        var item = DatasetItem(image: image, sourcePath: sourcePath, annotations: annotations, captions: captions,
                               referenceAnnotations: referenceAnnotations)
        item.reference = reference
        item.plannedVariant = plannedVariant
        return item
    }

    private mutating func referenceSnapshot() throws -> ReferenceSnapshot {
        var image: ImageInfo?, sourcePath: String?, annotations: [Annotation]?, captions: [String]?
        try object { d, key in
            if d.s.key(key, is: "annotations") { annotations = try d.array { try $0.annotation() } }
            else if d.s.key(key, is: "image") { image = try d.imageInfo() }
            else if d.s.key(key, is: "sourcePath") { sourcePath = try d.path() }
            else if d.s.key(key, is: "captions") { captions = try d.array { try $0.string() } }
            else { throw Declined() }
        }
        guard let image, let sourcePath, let annotations, let captions else { throw Declined() }
        return ReferenceSnapshot(DatasetItem(image: image, sourcePath: sourcePath, annotations: annotations, captions: captions))
    }

    private mutating func imageInfo() throws -> ImageInfo {
        var id: Int?, fileName: String?, width: Int?, height: Int?, provenance: Provenance?
        try object { d, key in
            if d.s.key(key, is: "id") { id = try d.int() }
            else if d.s.key(key, is: "fileName") { fileName = try d.string() }
            else if d.s.key(key, is: "width") { width = try d.int() }
            else if d.s.key(key, is: "height") { height = try d.int() }
            else if d.s.key(key, is: "provenance") { provenance = try d.optional { try $0.provenance() } }
            else { throw Declined() }
        }
        guard let id, let fileName, let width, let height else { throw Declined() }
        return ImageInfo(id: id, fileName: fileName, width: width, height: height, provenance: provenance)
    }

    private mutating func provenance() throws -> Provenance {
        var referenceImageId: Int?, variant: Int?, seed: UInt64?
        var p = Provenance(referenceImageId: 0, variant: 0, seed: 0)
        try object { d, key in
            if d.s.key(key, is: "referenceImageId") { referenceImageId = try d.int() }
            else if d.s.key(key, is: "variant") { variant = try d.int() }
            else if d.s.key(key, is: "seed") { seed = try d.uint64() }
            else if d.s.key(key, is: "encodeRatio") { p.encodeRatio = try d.optional { try $0.double() } }
            else if d.s.key(key, is: "guidance") { p.guidance = try d.optional { try $0.double() } }
            else if d.s.key(key, is: "scheduler") { p.scheduler = try d.optional { try $0.string() } }
            else if d.s.key(key, is: "steps") { p.steps = try d.optional { try $0.int() } }
            else if d.s.key(key, is: "tapTimestep") { p.tapTimestep = try d.optional { try $0.int() } }
            else if d.s.key(key, is: "prompt") { p.prompt = try d.optional { try $0.string() } }
            else { throw Declined() }
        }
        guard let referenceImageId, let variant, let seed else { throw Declined() }
        p.referenceImageId = referenceImageId
        p.variant = variant
        p.seed = seed
        return p
    }

    private mutating func annotation() throws -> Annotation {
        var id: Int?, imageId: Int?, categoryId: Int?, bbox: BoundingBox?, area: Double?, isCrowd: Bool?
        var segmentation: RawJSON?, difficult: Bool?, truncated: Bool?, score: Double?, attribute: String?
        try object { d, key in
            if d.s.key(key, is: "bbox") { bbox = try d.boundingBox() }
            else if d.s.key(key, is: "id") { id = try d.int() }
            else if d.s.key(key, is: "imageId") { imageId = try d.int() }
            else if d.s.key(key, is: "categoryId") { categoryId = try d.int() }
            else if d.s.key(key, is: "area") { area = try d.double() }
            else if d.s.key(key, is: "isCrowd") { isCrowd = try d.bool() }
            else if d.s.key(key, is: "segmentation") { segmentation = try d.optional { RawJSON(try $0.string()) } }
            else if d.s.key(key, is: "difficult") { difficult = try d.optional { try $0.bool() } }
            else if d.s.key(key, is: "truncated") { truncated = try d.optional { try $0.bool() } }
            else if d.s.key(key, is: "score") { score = try d.optional { try $0.double() } }
            else if d.s.key(key, is: "attribute") { attribute = try d.optional { try $0.string() } }
            else { throw Declined() }
        }
        guard let id, let imageId, let categoryId, let bbox, let area, let isCrowd else { throw Declined() }
        return Annotation(id: id, imageId: imageId, categoryId: categoryId, bbox: bbox, area: area, isCrowd: isCrowd,
                          segmentation: segmentation, difficult: difficult, truncated: truncated, score: score, attribute: attribute)
    }

    private mutating func boundingBox() throws -> BoundingBox {
        let values = try array { try $0.double() }
        guard values.count == 4 else { throw Declined() }
        return BoundingBox(x: values[0], y: values[1], width: values[2], height: values[3])
    }

    private mutating func droppedItem() throws -> DroppedItem {
        var imageId: Int?, fileName: String?, reason: String?, message: String?
        try object { d, key in
            if d.s.key(key, is: "imageId") { imageId = try d.int() }
            else if d.s.key(key, is: "fileName") { fileName = try d.string() }
            else if d.s.key(key, is: "reason") { reason = try d.string() }
            else if d.s.key(key, is: "message") { message = try d.optional { try $0.string() } }
            else { throw Declined() }
        }
        guard let imageId, let fileName, let reason else { throw Declined() }
        return DroppedItem(imageId: imageId, fileName: fileName, reason: reason, message: message)
    }

    private mutating func loadIssue() throws -> LoadIssue {
        var kind: LoadIssue.Kind?, file: String?, record: String?, message: String?
        try object { d, key in
            if d.s.key(key, is: "kind") { kind = LoadIssue.Kind(rawValue: try d.string()) }
            else if d.s.key(key, is: "file") { file = try d.string() }
            else if d.s.key(key, is: "record") { record = try d.string() }
            else if d.s.key(key, is: "message") { message = try d.string() }
            else { throw Declined() }
        }
        guard let kind, let file, let record, let message else { throw Declined() }
        return LoadIssue(kind: kind, file: file, record: record, message: message)
    }

    // MARK: Values

    /// Walks an object, calling `member` at each key's value (which it must consume).
    private mutating func object(_ member: (inout CheckpointDecoder, JSONStringToken) throws -> Void) throws {
        guard s.current == UInt8(ascii: "{") else { throw Declined() }
        s.pos += 1
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            try member(&self, key)
        }
    }

    private mutating func array<T>(_ element: (inout CheckpointDecoder) throws -> T) throws -> [T] {
        guard s.current == UInt8(ascii: "[") else { throw Declined() }
        s.pos += 1
        var first = true
        var values: [T] = []
        while try s.nextElement(&first) {
            values.append(try element(&self))
        }
        return values
    }

    /// `JSONDecoder`'s `decodeIfPresent`: null is nil.
    private mutating func optional<T>(_ value: (inout CheckpointDecoder) throws -> T) throws -> T? {
        if s.current == UInt8(ascii: "n") {
            try s.literal("null")
            return nil
        }
        return try value(&self)
    }

    private mutating func string() throws -> String {
        guard s.current == UInt8(ascii: "\"") else { throw Declined() }
        let token = try s.scanString()
        if token.escaped && hasSurrogateEscape(token) { throw Declined() }
        return try s.string(token)
    }

    /// A stored path: relative ones are inside the run directory (`RunRelativePath`).
    private mutating func path() throws -> String {
        let stored = try string()
        guard let runRoot, !stored.hasPrefix("/") else { return stored }
        return runRoot + "/" + stored
    }

    /// JSONEncoder writes non-ASCII text as UTF-8; `\uD800`-`\uDFFF` only come from elsewhere.
    private func hasSurrogateEscape(_ t: JSONStringToken) -> Bool {
        var i = t.start
        while i + 3 < t.end {
            if s.base[i] == UInt8(ascii: "\\") {
                if s.base[i + 1] == UInt8(ascii: "u"), s.base[i + 2] | 0x20 == UInt8(ascii: "d"), s.base[i + 3] >= UInt8(ascii: "8"),
                   s.base[i + 3] <= UInt8(ascii: "9") || s.base[i + 3] | 0x20 >= UInt8(ascii: "a") {
                    return true
                }
                i += 2
                continue
            }
            i += 1
        }
        return false
    }

    private mutating func int() throws -> Int {
        guard s.current == UInt8(ascii: "-") || JSONScanner.isDigit(s.current) else { throw Declined() }
        let n = try s.scanNumber()
        guard n.isInteger, n.exact, let v = s.int(n) else { throw Declined() }
        return v
    }

    private mutating func uint64() throws -> UInt64 {
        guard JSONScanner.isDigit(s.current) else { throw Declined() }
        let n = try s.scanNumber()
        guard n.isInteger, n.exact, let v = s.uint64(n) else { throw Declined() }
        return v
    }

    private mutating func double() throws -> Double {
        guard s.current == UInt8(ascii: "-") || JSONScanner.isDigit(s.current) else { throw Declined() }
        return s.double(try s.scanNumber())
    }

    private mutating func bool() throws -> Bool {
        switch s.current {
        case UInt8(ascii: "t"): try s.literal("true"); return true
        case UInt8(ascii: "f"): try s.literal("false"); return false
        default: throw Declined()
        }
    }
}
