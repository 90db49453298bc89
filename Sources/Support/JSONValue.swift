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
    /// not crashes); with `allowingJSON5`, text the strict parse refuses is parsed again as JSON5 (which has
    /// `Infinity` and `NaN`) before giving up. The failure carries the strict parse's reason.
    public static func parse(_ data: Data, allowingJSON5: Bool = false) -> Result<JSONValue, ParseFailure> {
        do {
            return .success(try JSONDecoder().decode(JSONValue.self, from: data))
        } catch {
            if allowingJSON5 {
                let lenient = JSONDecoder()
                lenient.allowsJSON5 = true
                if let value = try? lenient.decode(JSONValue.self, from: data) { return .success(value) }
            }
            var reason = "\(error)"
            if case DecodingError.dataCorrupted(let context) = error {
                reason = context.debugDescription
                if let underlying = context.underlyingError { reason += " (\(underlying))" }
            }
            return .failure(ParseFailure(reason: reason))
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
