/// The state shared by the COCO instances and captions parsers: the scanner over the file's bytes, the file
/// name for messages, and the typed field reads that turn a wrong value into a record-level error.
///
/// A wrong field does not stop the record at once: the parser notes the first problem, skips the value and
/// reads on, so the error can name the record by its id even when `id` comes after the bad field.
struct COCOParser {
    var s: JSONScanner
    /// As given by the caller (the path), used in every error and issue.
    let file: String
    /// The file's bytes; RawJSON values (segmentation, info, licenses) are ranges into it.
    let storage: RawJSON.Storage

    /// The first field problem of the record being read.
    var problem: FieldProblem?

    struct FieldProblem {
        var field: String
        var message: String
        var offset: Int
    }

    init(file: String, storage: RawJSON.Storage, base: UnsafePointer<UInt8>, count: Int) {
        self.file = file
        self.storage = storage
        self.s = JSONScanner(base: base, count: count)
    }

    // MARK: Errors

    static let reexportHint = "the file is not valid JSON: re-export it, or download or copy it again if it was cut short"

    /// A DatasetError for a JSON syntax error, with line and column.
    func datasetError(_ e: JSONSyntaxError) -> DatasetError {
        let hint = e.offset >= s.count
            ? "the file ends too early (an interrupted download or copy?): download, copy or re-export it again"
            : COCOParser.reexportHint
        return DatasetError(file: file, location: s.location(of: e.offset),
                            message: "invalid JSON: expected \(e.expected), found \(e.found)", hint: hint)
    }

    /// "annotation #3 (id 42)": the 0-based position in the file's list (as in `jq '.annotations[3]'`) and the id.
    static func record(_ kind: String, _ index: Int, id: Int?) -> String {
        if let id { return "\(kind) #\(index) (id \(id))" }
        return "\(kind) #\(index)"
    }

    func recordError(_ record: String, at offset: Int, _ message: String,
                     hint: String = "fix the record, or re-export the file from the tool that made it") -> DatasetError {
        DatasetError(file: file, location: "\(record), \(s.location(of: offset))", message: message, hint: hint)
    }

    /// Throws the record's noted field problem, if any.
    func throwProblem(record: String) throws {
        guard let p = problem else { return }
        throw recordError(record, at: p.offset, "field \"\(p.field)\" \(p.message)")
    }

    func missing(_ field: String, record: String, at offset: Int, hint: String? = nil) -> DatasetError {
        recordError(record, at: offset, "required field \"\(field)\" is missing",
                    hint: hint ?? "add the field, or re-export the file from the tool that made it")
    }

    // MARK: Typed field reads

    /// Notes the first problem of a record and skips the offending value.
    mutating func wrong(_ field: StaticString, _ message: String, at offset: Int) throws {
        if problem == nil { problem = FieldProblem(field: "\(field)", message: message, offset: offset) }
        if s.pos == offset { try s.skipValue() }
    }

    /// Whether the value is `null` (consumed); optional fields treat null as absent.
    @inline(__always) mutating func consumeNull() throws -> Bool {
        guard s.current == UInt8(ascii: "n") else { return false }
        try s.literal("null")
        return true
    }

    @inline(__always) mutating func int(_ field: StaticString) throws -> Int? {
        let at = s.pos
        guard s.valueKind == .number else {
            try wrong(field, "must be an integer, found \(s.valueKind.phrase)", at: at)
            return nil
        }
        let n = try s.scanNumber()
        if let v = s.int(n) { return v }
        try wrong(field, "must be an integer, found \(s.text(n.start, n.end))", at: at)
        return nil
    }

    mutating func optionalInt(_ field: StaticString) throws -> Int? {
        if try consumeNull() { return nil }
        return try int(field)
    }

    /// A non-negative 64-bit integer, as a JSON number or as a string of decimal digits (DataEngine writes
    /// seeds as strings: BSON, Arrow, SQLite and JavaScript cannot hold integers above 2^63 or 2^53).
    mutating func uint64(_ field: StaticString) throws -> UInt64? {
        let at = s.pos
        if s.current == UInt8(ascii: "\"") {
            let text = try s.string(try s.scanString())
            if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let v = UInt64(text) { return v }
            try wrong(field, "must be an integer from 0 to \(UInt64.max), as a number or a string of decimal digits, found \"\(text)\"", at: at)
            return nil
        }
        guard s.valueKind == .number else {
            try wrong(field, "must be a non-negative integer, found \(s.valueKind.phrase)", at: at)
            return nil
        }
        let n = try s.scanNumber()
        if let v = s.uint64(n) { return v }
        try wrong(field, "must be an integer from 0 to \(UInt64.max), found \(s.text(n.start, n.end))", at: at)
        return nil
    }

    @inline(__always) mutating func double(_ field: StaticString) throws -> Double? {
        let at = s.pos
        guard s.valueKind == .number else {
            try wrong(field, "must be a number, found \(s.valueKind.phrase)", at: at)
            return nil
        }
        let n = try s.scanNumber()
        let v = s.double(n)
        guard v.isFinite else {
            try wrong(field, "is out of range for a 64-bit float: \(s.text(n.start, n.end))", at: at)
            return nil
        }
        return v
    }

    mutating func optionalDouble(_ field: StaticString) throws -> Double? {
        if try consumeNull() { return nil }
        return try double(field)
    }

    @inline(__always) mutating func string(_ field: StaticString) throws -> String? {
        let at = s.pos
        guard s.current == UInt8(ascii: "\"") else {
            try wrong(field, "must be a string, found \(s.valueKind.phrase)", at: at)
            return nil
        }
        let t = try s.scanString()
        return try s.string(t)
    }

    mutating func optionalString(_ field: StaticString) throws -> String? {
        if try consumeNull() { return nil }
        return try string(field)
    }

    /// A 0/1 flag, also accepted as false/true.
    mutating func flag(_ field: StaticString) throws -> Bool? {
        let at = s.pos
        switch s.valueKind {
        case .bool:
            if s.current == UInt8(ascii: "t") { try s.literal("true"); return true }
            try s.literal("false")
            return false
        case .number:
            let n = try s.scanNumber()
            switch s.int(n) {
            case 0?: return false
            case 1?: return true
            default:
                try wrong(field, "must be 0 or 1 (or false/true), found \(s.text(n.start, n.end))", at: at)
                return nil
            }
        default:
            try wrong(field, "must be 0 or 1 (or false/true), found \(s.valueKind.phrase)", at: at)
            return nil
        }
    }

    mutating func optionalFlag(_ field: StaticString) throws -> Bool? {
        if try consumeNull() { return nil }
        return try flag(field)
    }

    /// COCO's `[x, y, width, height]`.
    @inline(__always) mutating func bbox(_ field: StaticString) throws -> BoundingBox? {
        let at = s.pos
        let expected = "must be an array of 4 numbers [x, y, width, height]"
        guard s.current == UInt8(ascii: "[") else {
            try wrong(field, "\(expected), found \(s.valueKind.phrase)", at: at)
            return nil
        }
        s.pos += 1
        var v = (0.0, 0.0, 0.0, 0.0)
        var n = 0
        var bad: String?
        var first = true
        while try s.nextElement(&first) {
            if s.valueKind == .number {
                let t = try s.scanNumber()
                let d = s.double(t)
                if !d.isFinite { bad = bad ?? "a number out of range (\(s.text(t.start, t.end)))" }
                switch n {
                case 0: v.0 = d
                case 1: v.1 = d
                case 2: v.2 = d
                case 3: v.3 = d
                default: break
                }
            } else {
                bad = bad ?? s.valueKind.phrase
                try s.skipValue()
            }
            n += 1
        }
        if let bad {
            try wrong(field, "\(expected), found \(bad) in it", at: at)
            return nil
        }
        guard n == 4 else {
            try wrong(field, "\(expected), found \(n) value\(n == 1 ? "" : "s")", at: at)
            return nil
        }
        return BoundingBox(x: v.0, y: v.1, width: v.2, height: v.3)
    }

    /// Any value kept as its source bytes (a range into the shared file buffer); nil for null.
    mutating func raw() throws -> RawJSON? {
        if try consumeNull() { return nil }
        let at = s.pos
        try s.skipValue()
        return RawJSON(storage: storage, range: at..<s.pos)
    }

    /// Segmentation: polygons (an array) or RLE (an object).
    @inline(__always) mutating func segmentation() throws -> RawJSON? {
        if try consumeNull() { return nil }
        let at = s.pos
        let c = s.current
        guard c == UInt8(ascii: "[") || c == UInt8(ascii: "{") else {
            try wrong("segmentation", "must be polygons (an array) or RLE (an object), found \(s.valueKind.phrase)", at: at)
            return nil
        }
        try s.skipValue()
        return RawJSON(storage: storage, range: at..<s.pos)
    }

    // MARK: Top level and lists

    /// Walks the top-level object, calling `member` at each key's value (which must consume it).
    mutating func topLevel(_ member: (inout COCOParser, JSONStringToken) throws -> Void) throws {
        s.skipByteOrderMark()
        s.skipWhitespace()
        guard s.current == UInt8(ascii: "{") else {
            throw s.syntaxError("'{' (a COCO file is one JSON object)")
        }
        s.pos += 1
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) { try member(&self, key) }
        s.skipWhitespace()
        guard s.atEnd else { throw s.syntaxError("the end of the file after the top-level object") }
    }

    /// Walks a top-level list of records: `name` must be an array of objects. `record` is called with the
    /// index and the offset of each record's '{' (already consumed).
    mutating func list(_ name: String, kind: String, _ record: (inout COCOParser, Int, Int) throws -> Void) throws {
        guard s.current == UInt8(ascii: "[") else {
            if s.valueKind == .invalid { try s.skipValue() }  // throws the syntax error
            throw DatasetError(file: file, location: s.location(of: s.pos),
                               message: "\"\(name)\" must be an array of \(kind) records, found \(s.valueKind.phrase)",
                               hint: "this does not look like a COCO file: check the path, or re-export the file")
        }
        s.pos += 1
        var first = true
        var index = 0
        while try s.nextElement(&first) {
            let at = s.pos
            guard s.current == UInt8(ascii: "{") else {
                if s.valueKind == .invalid { try s.skipValue() }
                throw recordError(COCOParser.record(kind, index, id: nil), at: at,
                                  "must be an object, found \(s.valueKind.phrase)")
            }
            s.pos += 1
            problem = nil
            try record(&self, index, at)
            index += 1
        }
    }
}
