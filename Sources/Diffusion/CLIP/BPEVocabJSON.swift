import Foundation

/// Reads a flat JSON object of string -> integer (`vocab.json`, `added_tokens.json`) keeping every key's exact
/// scalars as UTF-8 bytes. Foundation's JSON decoding into `[String: Int]` would merge keys that are canonically
/// equivalent (Swift `String` equality), which Python's `json.load` keeps apart; this parser is also several
/// times faster on a 49,408-entry vocabulary. Duplicate keys: the last one wins, as in Python.
enum BPEVocabJSON {
    struct ParseError: Error, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "\(message) at byte \(offset)" }
    }

    /// The entries in file order.
    static func parse(_ data: Data) throws -> [(key: [UInt8], value: Int)] {
        try data.withUnsafeBytes { raw -> [(key: [UInt8], value: Int)] in
            let p = raw.bindMemory(to: UInt8.self)
            var parser = Parser(bytes: p)
            return try parser.object()
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            // UTF-8 byte order mark, which Python's json.load (encoding="utf-8") would reject; tolerate it.
            if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { i = 3 }
        }

        func fail(_ message: String) -> ParseError { ParseError(offset: i, message: message) }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        mutating func expect(_ c: UInt8) throws {
            skipSpace()
            guard i < bytes.count, bytes[i] == c else { throw fail("expected `\(Character(Unicode.Scalar(c)))`") }
            i += 1
        }

        mutating func object() throws -> [(key: [UInt8], value: Int)] {
            var out: [(key: [UInt8], value: Int)] = []
            out.reserveCapacity(bytes.count / 12)
            try expect(UInt8(ascii: "{"))
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    skipSpace()
                    let key = try string()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                    let value = try integer()
                    out.append((key, value))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unterminated object") }
                    if bytes[i] == UInt8(ascii: ",") {
                        i += 1
                        continue
                    }
                    if bytes[i] == UInt8(ascii: "}") {
                        i += 1
                        break
                    }
                    throw fail("expected `,` or `}`")
                }
            }
            skipSpace()
            guard i == bytes.count else { throw fail("unexpected content after the object") }
            return out
        }

        mutating func integer() throws -> Int {
            var negative = false
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
                negative = true
                i += 1
            }
            let start = i
            var value = 0
            while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(bytes[i] - 0x30))
                guard !o1, !o2 else { throw fail("integer too large") }
                value = a
                i += 1
            }
            guard i > start else { throw fail("expected an integer id") }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                throw fail("expected an integer id, found a number with a fraction or exponent")
            }
            return negative ? -value : value
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw fail("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt32
                switch c {
                case 0x30...0x39: d = UInt32(c - 0x30)
                case 0x41...0x46: d = UInt32(c - 0x41 + 10)
                case 0x61...0x66: d = UInt32(c - 0x61 + 10)
                default: throw fail("bad \\u escape")
                }
                v = v << 4 | d
                i += 1
            }
            return v
        }

        mutating func string() throws -> [UInt8] {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string") }
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("unterminated string") }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") {
                    i += 1
                    break
                }
                if c < 0x20 { throw fail("control character in string") }
                if c != UInt8(ascii: "\\") {
                    out.append(c)
                    i += 1
                    continue
                }
                i += 1
                guard i < bytes.count else { throw fail("unterminated escape") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try hex4()
                    if v >= 0xD800 && v < 0xDC00, i + 6 <= bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        let low = try hex4()
                        if low >= 0xDC00 && low < 0xE000 {
                            v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    // A lone surrogate (Python keeps it in the str) cannot be a Swift scalar; U+FFFD stands in
                    // for it, which no text that reaches the vocabulary contains.
                    let scalar = Unicode.Scalar(v) ?? Unicode.Scalar(0xFFFD)!
                    out.append(contentsOf: UTF8.encode(scalar)!)
                default:
                    throw fail("bad escape")
                }
            }
            // the raw bytes between escapes must be valid UTF-8
            guard BPEVocabJSON.isValidUTF8(out) else { throw fail("string is not valid UTF-8") }
            return out
        }
    }
}

extension BPEVocabJSON {
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        if !bytes.contains(where: { $0 >= 0x80 }) { return true }
        var decoder = UTF8()
        var it = bytes.makeIterator()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}
