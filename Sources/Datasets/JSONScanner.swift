#if canImport(Glibc)
import Glibc
#endif

/// A JSON syntax error: the byte offset (0-based) where the scanner stopped, what it expected there and what
/// it found instead. The COCO reader turns it into a `DatasetError` with line and column.
package struct JSONSyntaxError: Error, Equatable {
    package var offset: Int
    package var expected: String
    package var found: String
}

/// What kind of value starts at a position (from its first byte alone).
enum JSONValueKind {
    case object, array, string, number, bool, null, invalid

    /// "an object", "a string", ... for error messages.
    var phrase: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "true/false"
        case .null: return "null"
        case .invalid: return "no valid JSON value"
        }
    }
}

/// A string token: the bytes between the quotes (escapes not yet decoded).
package struct JSONStringToken {
    package var start: Int
    package var end: Int
    /// True when the bytes contain a backslash escape, so they cannot be used as they are.
    package var escaped: Bool

    package init(start: Int, end: Int, escaped: Bool) {
        self.start = start
        self.end = end
        self.escaped = escaped
    }
}

/// A number token with its decimal value split into mantissa and power of ten, ready for exact conversion.
package struct JSONNumberToken {
    package var start: Int
    package var end: Int
    package var negative = false
    /// The decimal digits as an integer (all of them when `exact`).
    package var mantissa: UInt64 = 0
    /// value = mantissa * 10^exp10 (when `exact`).
    package var exp10 = 0
    /// No '.' and no exponent in the source text.
    package var isInteger = true
    /// False when the digits did not fit in 64 bits (then only the text is reliable).
    package var exact = true
}

/// A byte-level JSON reader over a buffer that outlives it. It never builds a tree: the caller walks objects
/// and arrays with `nextKey` / `nextElement`, reads the values it wants and skips (validating) the rest.
/// Every skip still checks the JSON grammar, so a malformed file fails with the offset of its first error.
///
/// Offsets are 0-based byte positions in the buffer.
package struct JSONScanner {
    package let base: UnsafePointer<UInt8>
    package let count: Int
    package var pos: Int

    /// Deeper nesting than this is refused (protects the stack from hostile input; COCO needs 4).
    static let maxDepth = 512

    package init(base: UnsafePointer<UInt8>, count: Int, pos: Int = 0) {
        self.base = base
        self.count = count
        self.pos = pos
    }

    // MARK: Bytes

    /// The byte at `i`, or 0 past the end (0 is never valid outside a string, so it always ends a token).
    @inline(__always) func byte(_ i: Int) -> UInt8 { i < count ? base[i] : 0 }
    @inline(__always) package var current: UInt8 { byte(pos) }
    package var atEnd: Bool { pos >= count }

    @inline(__always) package static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    @inline(__always) package mutating func skipWhitespace() {
        while pos < count {
            let c = base[pos]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            pos += 1
        }
    }

    /// Skips a UTF-8 byte order mark at the very start (some Windows tools write one).
    mutating func skipByteOrderMark() {
        if pos == 0, count >= 3, base[0] == 0xEF, base[1] == 0xBB, base[2] == 0xBF { pos = 3 }
    }

    // MARK: Errors

    func describe(at offset: Int) -> String {
        guard offset < count else { return "the end of the file" }
        let c = base[offset]
        switch c {
        case 0x21..<0x7F: return "'\(Character(Unicode.Scalar(c)))'"
        case 0x20: return "a space"
        case 0x0A: return "a line break"
        case 0x09: return "a tab"
        default: return "byte 0x" + String(c, radix: 16, uppercase: true)
        }
    }

    package func syntaxError(_ expected: String, at offset: Int? = nil) -> JSONSyntaxError {
        let o = offset ?? pos
        return JSONSyntaxError(offset: o, expected: expected, found: describe(at: o))
    }

    /// 1-based line and column (in bytes) of an offset; for error messages only.
    func lineAndColumn(of offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var lineStart = 0
        let end = min(offset, count)
        var i = 0
        while i < end {
            if base[i] == 0x0A { line += 1; lineStart = i + 1 }
            i += 1
        }
        return (line, offset - lineStart + 1)
    }

    /// "byte 1234 (line 5, column 17)".
    func location(of offset: Int) -> String {
        let (line, column) = lineAndColumn(of: offset)
        return "byte \(offset) (line \(line), column \(column))"
    }

    // MARK: Structure

    /// The kind of the value at the current position (whitespace must already be skipped).
    @inline(__always) var valueKind: JSONValueKind {
        switch current {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: return .invalid
        }
    }

    /// Walks an object whose '{' was consumed: returns false (after consuming '}') at its end, else reads the
    /// next key into `key`, consumes the ':' and leaves the position at the value.
    @inline(__always) package mutating func nextKey(_ first: inout Bool, _ key: inout JSONStringToken) throws -> Bool {
        skipWhitespace()
        if first {
            first = false
            if current == UInt8(ascii: "}") { pos += 1; return false }
        } else {
            let c = current
            if c == UInt8(ascii: ",") {
                pos += 1
                skipWhitespace()
            } else if c == UInt8(ascii: "}") {
                pos += 1
                return false
            } else {
                throw syntaxError("',' or '}' after an object member")
            }
        }
        guard current == UInt8(ascii: "\"") else { throw syntaxError("a string key in double quotes") }
        key = try scanString()
        skipWhitespace()
        guard current == UInt8(ascii: ":") else { throw syntaxError("':' after an object key") }
        pos += 1
        skipWhitespace()
        return true
    }

    /// Walks an array whose '[' was consumed: returns false (after consuming ']') at its end, else leaves the
    /// position at the next element.
    @inline(__always) package mutating func nextElement(_ first: inout Bool) throws -> Bool {
        skipWhitespace()
        if first {
            first = false
            if current == UInt8(ascii: "]") { pos += 1; return false }
            return true
        }
        let c = current
        if c == UInt8(ascii: ",") {
            pos += 1
            skipWhitespace()
            return true
        }
        if c == UInt8(ascii: "]") { pos += 1; return false }
        throw syntaxError("',' or ']' after an array element")
    }

    // MARK: Skipping (validating)

    /// Skips one value of any kind, checking its syntax.
    package mutating func skipValue(depth: Int = 0) throws {
        switch current {
        case UInt8(ascii: "{"):
            guard depth < JSONScanner.maxDepth else { throw syntaxError("at most \(JSONScanner.maxDepth) nested arrays/objects") }
            pos += 1
            var first = true
            var key = JSONStringToken(start: 0, end: 0, escaped: false)
            while try nextKey(&first, &key) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            try skipArray(depth: depth)
        case UInt8(ascii: "\""):
            _ = try scanString()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            try skipNumber()
        case UInt8(ascii: "t"):
            try literal("true")
        case UInt8(ascii: "f"):
            try literal("false")
        case UInt8(ascii: "n"):
            try literal("null")
        default:
            throw syntaxError("a value (object, array, string, number, true, false or null)")
        }
    }

    /// Skips an array (at its '['), checking its syntax. Arrays of arrays of numbers (COCO polygons, RLE
    /// counts) are the bulk of a COCO file, so they are walked in one loop with the position in a local
    /// variable; any other element goes through `skipValue`.
    mutating func skipArray(depth outerDepth: Int) throws {
        let b = base, n = count
        var p = pos + 1
        var depth = 1  // arrays open in this loop
        var expectValue = true  // after '[' or ','
        var afterOpen = true  // right after '[' (so ']' may close an empty array)
        @inline(__always) func at(_ i: Int) -> UInt8 { i < n ? b[i] : 0 }
        guard outerDepth < JSONScanner.maxDepth else { throw syntaxError("at most \(JSONScanner.maxDepth) nested arrays/objects") }
        while true {
            var c = at(p)
            while c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { p += 1; c = at(p) }
            if expectValue {
                if c &- 0x30 < 10 || c == UInt8(ascii: "-") {
                    // Number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
                    if c == UInt8(ascii: "-") { p += 1; c = at(p) }
                    if c == UInt8(ascii: "0") {
                        p += 1
                    } else if c &- 0x31 < 9 {
                        p += 1
                        while at(p) &- 0x30 < 10 { p += 1 }
                    } else {
                        pos = p
                        throw syntaxError("a digit")
                    }
                    c = at(p)
                    if c == UInt8(ascii: ".") {
                        p += 1
                        guard at(p) &- 0x30 < 10 else { pos = p; throw syntaxError("a digit after the decimal point") }
                        repeat { p += 1 } while at(p) &- 0x30 < 10
                        c = at(p)
                    }
                    if c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                        p += 1
                        c = at(p)
                        if c == UInt8(ascii: "+") || c == UInt8(ascii: "-") { p += 1 }
                        guard at(p) &- 0x30 < 10 else { pos = p; throw syntaxError("a digit in the exponent") }
                        repeat { p += 1 } while at(p) &- 0x30 < 10
                    }
                    expectValue = false
                } else if c == UInt8(ascii: "[") {
                    depth += 1
                    guard outerDepth + depth <= JSONScanner.maxDepth else {
                        pos = p
                        throw syntaxError("at most \(JSONScanner.maxDepth) nested arrays/objects")
                    }
                    p += 1
                    afterOpen = true
                    continue
                } else if c == UInt8(ascii: "]") && afterOpen {
                    p += 1
                    depth -= 1
                    if depth == 0 { pos = p; return }
                    expectValue = false
                } else {
                    pos = p
                    try skipValue(depth: outerDepth + depth)
                    p = pos
                    expectValue = false
                }
                afterOpen = false
            } else if c == UInt8(ascii: ",") {
                p += 1
                expectValue = true
            } else if c == UInt8(ascii: "]") {
                p += 1
                depth -= 1
                if depth == 0 { pos = p; return }
            } else {
                pos = p
                throw syntaxError("',' or ']' after an array element")
            }
        }
    }

    package mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        let p = word.utf8Start
        for i in 0..<n where byte(pos + i) != p[i] {
            throw syntaxError("'\(word)'", at: pos + i)
        }
        pos += n
    }

    /// Skips a number, checking the JSON grammar `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    @inline(__always) mutating func skipNumber() throws {
        if current == UInt8(ascii: "-") { pos += 1 }
        let c = current
        if c == UInt8(ascii: "0") {
            pos += 1
        } else if c &- 0x31 < 9 {
            pos += 1
            while JSONScanner.isDigit(current) { pos += 1 }
        } else {
            throw syntaxError("a digit")
        }
        if current == UInt8(ascii: ".") {
            pos += 1
            guard JSONScanner.isDigit(current) else { throw syntaxError("a digit after the decimal point") }
            repeat { pos += 1 } while JSONScanner.isDigit(current)
        }
        let e = current
        if e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            pos += 1
            let s = current
            if s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { pos += 1 }
            guard JSONScanner.isDigit(current) else { throw syntaxError("a digit in the exponent") }
            repeat { pos += 1 } while JSONScanner.isDigit(current)
        }
    }

    // MARK: Strings

    /// Scans a string starting at its opening quote; checks escapes and refuses raw control characters.
    @inline(__always) package mutating func scanString() throws -> JSONStringToken {
        pos += 1
        let start = pos
        var escaped = false
        while true {
            guard pos < count else { throw syntaxError("a closing '\"' (the string is not terminated)") }
            let c = base[pos]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                escaped = true
                pos += 1
                switch current {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    pos += 1
                case UInt8(ascii: "u"):
                    pos += 1
                    for _ in 0..<4 {
                        guard JSONScanner.hexValue(current) != nil else { throw syntaxError("4 hex digits after '\\u'") }
                        pos += 1
                    }
                default:
                    throw syntaxError("an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX) after '\\'")
                }
                continue
            }
            if c < 0x20 { throw syntaxError("no raw control character inside a string (write it escaped, e.g. \\n)") }
            pos += 1
        }
        let end = pos
        pos += 1
        return JSONStringToken(start: start, end: end, escaped: escaped)
    }

    @inline(__always) static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// The string's bytes with escapes decoded (UTF-8). Lone surrogates become U+FFFD.
    package func unescapedBytes(_ t: JSONStringToken) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(t.end - t.start)
        var i = t.start
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in 0..<4 { v = v << 4 | (JSONScanner.hexValue(byte(at + k)) ?? 0) }
            return v
        }
        func appendScalar(_ v: UInt32) {
            let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
            out.append(contentsOf: String(Character(scalar)).utf8)
        }
        while i < t.end {
            let c = base[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            let e = base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                let u = hex4(i)
                i += 4
                if u >= 0xD800 && u < 0xDC00, i + 6 <= t.end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(i + 2)
                    if low >= 0xDC00 && low < 0xE000 {
                        i += 6
                        appendScalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))
                        continue
                    }
                }
                appendScalar(u)  // lone surrogates fail Unicode.Scalar(_:) and become U+FFFD
            default: out.append(e)  // \" \\ \/
            }
        }
        return out
    }

    /// Decodes a string token to a Swift String; throws if its bytes are not valid UTF-8.
    package func string(_ t: JSONStringToken) throws -> String {
        let s: String?
        if t.escaped {
            s = String(validating: unescapedBytes(t), as: UTF8.self)
        } else {
            s = String(validating: UnsafeBufferPointer(start: base + t.start, count: t.end - t.start), as: UTF8.self)
        }
        guard let s else { throw syntaxError("valid UTF-8 text in the string", at: t.start) }
        return s
    }

    /// Whether a key token spells `name` (compares bytes; decodes escapes only when the key has any).
    @inline(__always) package func key(_ t: JSONStringToken, is name: StaticString) -> Bool {
        let n = name.utf8CodeUnitCount
        if !t.escaped {
            return t.end - t.start == n && memcmp(base + t.start, name.utf8Start, n) == 0
        }
        let bytes = unescapedBytes(t)
        return bytes.count == n && bytes.withUnsafeBufferPointer { memcmp($0.baseAddress!, name.utf8Start, n) == 0 }
    }

    // MARK: Numbers

    /// Scans a number (checking the grammar) and accumulates its decimal digits for exact conversion.
    @inline(__always) package mutating func scanNumber() throws -> JSONNumberToken {
        var n = JSONNumberToken(start: pos, end: pos)
        if current == UInt8(ascii: "-") { n.negative = true; pos += 1 }
        let first = current
        if first == UInt8(ascii: "0") {
            pos += 1
        } else if first &- 0x31 < 9 {
            while true {
                let d = current &- 0x30
                guard d < 10 else { break }
                n.accumulate(d, fraction: false)
                pos += 1
            }
        } else {
            throw syntaxError("a digit")
        }
        if current == UInt8(ascii: ".") {
            n.isInteger = false
            pos += 1
            guard JSONScanner.isDigit(current) else { throw syntaxError("a digit after the decimal point") }
            while true {
                let d = current &- 0x30
                guard d < 10 else { break }
                n.accumulate(d, fraction: true)
                pos += 1
            }
        }
        let e = current
        if e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            n.isInteger = false
            pos += 1
            var negativeExponent = false
            let s = current
            if s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { negativeExponent = s == UInt8(ascii: "-"); pos += 1 }
            guard JSONScanner.isDigit(current) else { throw syntaxError("a digit in the exponent") }
            var exponent = 0
            while true {
                let d = current &- 0x30
                guard d < 10 else { break }
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(d) }
                pos += 1
            }
            n.exp10 += negativeExponent ? -exponent : exponent
        }
        n.end = pos
        return n
    }

    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The correctly rounded Double of a number token. Exact fast path when the digits fit in 53 bits and the
    /// power of ten is at most 22 (both operands exact, one IEEE operation: correctly rounded, Clinger 1990);
    /// otherwise the C library's strtod on the token's text.
    @inline(__always) package func double(_ n: JSONNumberToken) -> Double {
        if n.exact && n.mantissa <= 1 << 53 && n.exp10 >= -22 && n.exp10 <= 22 {
            let m = Double(n.mantissa)
            let v = n.exp10 >= 0 ? m * JSONScanner.powersOfTen[n.exp10] : m / JSONScanner.powersOfTen[-n.exp10]
            return n.negative ? -v : v
        }
        return strtodValue(n)
    }

    func strtodValue(_ n: JSONNumberToken) -> Double {
        let length = n.end - n.start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { buffer in
            for i in 0..<length { buffer[i] = CChar(bitPattern: base[n.start + i]) }
            buffer[length] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }

    /// The token as an Int when it is an integer (written as one, or an integral value like 640.0) in range.
    @inline(__always) package func int(_ n: JSONNumberToken) -> Int? {
        if n.isInteger && n.exact {
            if n.negative {
                return n.mantissa <= UInt64(Int64.max) + 1 ? Int(truncatingIfNeeded: 0 &- n.mantissa) : nil
            }
            return n.mantissa <= UInt64(Int.max) ? Int(n.mantissa) : nil
        }
        let d = double(n)
        guard d.rounded() == d, abs(d) <= 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }

    /// The token as a UInt64 when it is a non-negative integer in range (seeds use the full 64 bits).
    package func uint64(_ n: JSONNumberToken) -> UInt64? {
        if n.isInteger && n.exact { return n.negative ? (n.mantissa == 0 ? 0 : nil) : n.mantissa }
        guard let i = int(n), i >= 0 else { return nil }
        return UInt64(i)
    }

    /// The source text of a token (for messages).
    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: min(end, count) - start), as: UTF8.self)
    }
}

extension JSONNumberToken {
    @inline(__always) mutating func accumulate(_ d: UInt8, fraction: Bool) {
        if exact {
            let (m1, o1) = mantissa.multipliedReportingOverflow(by: 10)
            let (m2, o2) = m1.addingReportingOverflow(UInt64(d))
            if !o1 && !o2 {
                mantissa = m2
                if fraction { exp10 -= 1 }
                return
            }
            exact = false
        }
        if !fraction { exp10 += 1 }
    }
}
