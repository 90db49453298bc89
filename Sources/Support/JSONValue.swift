import Foundation

/// A parsed JSON value: diffusers' `model_index.json`, `config.json`, `scheduler_config.json`, safetensors headers and
/// shard indexes. Integers that fit in `Int` stay exact (`.int`); other numbers are `.double`.
public enum JSONValue: Sendable, Equatable, Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let v = try? c.decode(Bool.self) { self = .bool(v); return }
        if let v = try? c.decode(Int.self) { self = .int(v); return }
        if let v = try? c.decode(Double.self) { self = .double(v); return }
        if let v = try? c.decode(String.self) { self = .string(v); return }
        if let v = try? c.decode([JSONValue].self) { self = .array(v); return }
        self = .object(try c.decode([String: JSONValue].self))
    }

    /// Parses JSON text strictly (Foundation's `JSONDecoder`: invalid UTF-8 and excessive nesting are errors,
    /// not crashes). With `allowingPythonNonFinite`, the bare `Infinity`, `-Infinity` and `NaN` that Python's `json`
    /// writes are read as those numbers. (Foundation's JSON5 mode would read them too, but it traps on invalid
    /// UTF-8, which the fuzzer found; so the tokens are rewritten and the strict parser is used.) The failure
    /// carries the strict parse's reason.
    public static func parse(_ data: Data, allowingPythonNonFinite: Bool = false) -> Result<JSONValue, ParseFailure> {
        do {
            return .success(try JSONDecoder().decode(JSONValue.self, from: data))
        } catch {
            if allowingPythonNonFinite, let rewritten = quotingNonFiniteTokens([UInt8](data)),
               let value = try? JSONDecoder().decode(JSONValue.self, from: Data(rewritten)) {
                return .success(value.restoringNonFinite())
            }
            var reason = "\(error)"
            if case DecodingError.dataCorrupted(let context) = error {
                reason = context.debugDescription
                if let underlying = context.underlyingError { reason += " (\(underlying))" }
            }
            return .failure(ParseFailure(reason: reason))
        }
    }

    /// A marker no real JSON string holds unescaped: U+0001 before the token's text.
    private static let nonFiniteMarker = "\u{1}"
    private static let nonFiniteTokens: [(text: [UInt8], value: Double)] = [
        (Array("-Infinity".utf8), -.infinity), (Array("Infinity".utf8), .infinity), (Array("NaN".utf8), .nan),
    ]

    /// The text with each bare non-finite token outside strings replaced by a marked string
    /// (`-Infinity` -> `"\u0001-Infinity"`), nil when there is none.
    static func quotingNonFiniteTokens(_ bytes: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 32)
        var inString = false, escaped = false, replaced = false
        var i = 0
        func isWordByte(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == 0x5F }
        while i < bytes.count {
            let b = bytes[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                out.append(b)
                i += 1
                continue
            }
            if b == UInt8(ascii: "\"") { inString = true; out.append(b); i += 1; continue }
            if let token = nonFiniteTokens.first(where: { t in
                i + t.text.count <= bytes.count && Array(bytes[i..<(i + t.text.count)]) == t.text
                    && (i + t.text.count == bytes.count || !isWordByte(bytes[i + t.text.count])) && (i == 0 || !isWordByte(bytes[i - 1]))
            }) {
                out += Array("\"\\u0001".utf8) + token.text + [UInt8(ascii: "\"")]
                i += token.text.count
                replaced = true
                continue
            }
            out.append(b)
            i += 1
        }
        return replaced ? out : nil
    }

    /// The value with the marked strings of `quotingNonFiniteTokens` turned back into numbers.
    func restoringNonFinite() -> JSONValue {
        switch self {
        case .string(let s) where s.hasPrefix(Self.nonFiniteMarker):
            let text = Array(s.dropFirst().utf8)
            return Self.nonFiniteTokens.first { $0.text == text }.map { .double($0.value) } ?? self
        case .array(let a): return .array(a.map { $0.restoringNonFinite() })
        case .object(let o): return .object(o.mapValues { $0.restoringNonFinite() })
        default: return self
        }
    }

    /// Why a text is not JSON, in a short sentence for messages.
    public struct ParseFailure: Error, Sendable { public var reason: String }

    // MARK: - Plain accessors (nil when the value is of another type)

    public var isNull: Bool { self == .null }
    public var boolValue: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    /// An integer; a double with an integral value in `Int` range counts (`1.0`, `1e3`).
    public var intValue: Int? {
        switch self {
        case .int(let v): return v
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e18: return Int(d)
        default: return nil
        }
    }
    /// A number (integers convert).
    public var doubleValue: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }
    public var stringValue: String? { if case .string(let v) = self { return v } else { return nil } }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { return v } else { return nil } }
    public var objectValue: [String: JSONValue]? { if case .object(let v) = self { return v } else { return nil } }

    public subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// "a string", "an integer", ... for messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Compact JSON-like rendering, for messages.
    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let v): return String(v)
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.description)" }.joined(separator: ", ") + "}"
        }
    }
}
