import Foundation

/// A parsed JSON value (diffusers' `model_index.json`, `config.json`, `scheduler_config.json`).
/// Integers that fit in `Int` stay exact (`.int`); other numbers are `.double`.
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

    /// Parses JSON text; the error is `ModelLoadError` naming `file`. diffusers writes configs with Python's
    /// `json`, which spells infinities `-Infinity` (every DPMSolverMultistepScheduler config it saves holds
    /// `"lambda_min_clipped": -Infinity`); when the strict parse fails the text is parsed again as JSON5, which
    /// has `Infinity` and `NaN`, and the strict parse's error is reported if that fails too.
    public static func parse(_ data: Data, file: String) throws -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            let lenient = JSONDecoder()
            lenient.allowsJSON5 = true
            if let value = try? lenient.decode(JSONValue.self, from: data) { return value }
            var reason = "\(error)"
            if case DecodingError.dataCorrupted(let context) = error {
                reason = context.debugDescription
                if let underlying = context.underlyingError { reason += " (\(underlying))" }
            }
            throw ModelLoadError(file: file, message: "not valid JSON: \(reason)",
                                 hint: "the file is damaged: re-download it or re-save the model with diffusers `save_pretrained`")
        }
    }

    /// Reads and parses a JSON file; a missing or unreadable file is a `ModelLoadError` naming it.
    public static func read(_ url: URL) throws -> JSONValue {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadError(file: path, message: "file not found", hint: "check the model folder: is it complete?")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw ModelLoadError(file: path, message: isDirectory.boolValue ? "is a directory, not a JSON file" : "cannot read the file",
                                 hint: "check the file's permissions")
        }
        return try parse(data, file: path)
    }

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
