import Foundation
import Support

/// A component's configuration (`unet/config.json`, `scheduler/scheduler_config.json`, ...) with typed
/// accessors. A missing field or one of the wrong type is a `ModelLoadError` naming the file and field.
///
/// The `default:` variants return the default when the field is absent or `null` (diffusers leaves
/// optional settings out or writes `null`), and still throw when it is present with the wrong type.
public struct ComponentConfig: Sendable, Equatable {
    /// The config file's path, for messages.
    public let file: String
    public let values: [String: JSONValue]

    public init(file: String, values: [String: JSONValue]) {
        self.file = file
        self.values = values
    }

    /// Reads a config file; it must hold a JSON object.
    public init(url: URL) throws {
        let value = try JSONValue.read(url)
        guard let object = value.objectValue else {
            throw ModelLoadError(file: url.path, message: "expected a JSON object, found \(value.typeName)",
                                 hint: "the file is damaged: re-download it or re-save the model with diffusers `save_pretrained`")
        }
        self.init(file: url.path, values: object)
    }

    /// `_class_name` (diffusers writes it into every config it saves).
    public var className: String? { values["_class_name"]?.stringValue }

    public subscript(field: String) -> JSONValue? { values[field] }

    /// Whether the field is present and not `null`.
    public func contains(_ field: String) -> Bool { values[field].map { !$0.isNull } ?? false }

    // MARK: - Required fields

    public func int(_ field: String) throws -> Int { try require(field, "an integer") { $0.intValue } }
    public func double(_ field: String) throws -> Double { try require(field, "a number") { $0.doubleValue } }
    public func float(_ field: String) throws -> Float { Float(try double(field)) }
    public func string(_ field: String) throws -> String { try require(field, "a string") { $0.stringValue } }
    public func bool(_ field: String) throws -> Bool { try require(field, "a boolean") { $0.boolValue } }
    public func ints(_ field: String) throws -> [Int] { try require(field, "an array of integers") { Self.array($0) { $0.intValue } } }
    public func doubles(_ field: String) throws -> [Double] { try require(field, "an array of numbers") { Self.array($0) { $0.doubleValue } } }
    public func strings(_ field: String) throws -> [String] { try require(field, "an array of strings") { Self.array($0) { $0.stringValue } } }

    /// A field diffusers writes either as one integer or as one per block (`attention_head_dim: 8` or
    /// `[5, 10, 20, 20]`): always `count` integers; a list of another length is an error.
    public func intOrInts(_ field: String, count: Int) throws -> [Int] {
        let value = try require(field, "an integer or an array of integers") { v -> [Int]? in
            if let i = v.intValue { return [Int](repeating: i, count: count) }
            return Self.array(v) { $0.intValue }
        }
        guard value.count == count else {
            throw ModelLoadError(file: file, key: field, message: "expected \(count) values (one per block), found \(value.count)",
                                 hint: "make `\(field)` one integer or a list as long as `block_out_channels`")
        }
        return value
    }

    /// `intOrInts`, or `count` copies of `value` when the field is absent or `null`.
    public func intOrInts(_ field: String, count: Int, default value: Int) throws -> [Int] {
        contains(field) ? try intOrInts(field, count: count) : [Int](repeating: value, count: count)
    }

    // MARK: - Optional fields

    public func int(_ field: String, default value: Int) throws -> Int { try optional(field, "an integer") { $0.intValue } ?? value }
    public func double(_ field: String, default value: Double) throws -> Double { try optional(field, "a number") { $0.doubleValue } ?? value }
    public func float(_ field: String, default value: Float) throws -> Float { Float(try double(field, default: Double(value))) }
    public func string(_ field: String, default value: String) throws -> String { try optional(field, "a string") { $0.stringValue } ?? value }
    public func bool(_ field: String, default value: Bool) throws -> Bool { try optional(field, "a boolean") { $0.boolValue } ?? value }
    public func ints(_ field: String, default value: [Int]) throws -> [Int] {
        try optional(field, "an array of integers") { Self.array($0) { $0.intValue } } ?? value
    }
    public func strings(_ field: String, default value: [String]) throws -> [String] {
        try optional(field, "an array of strings") { Self.array($0) { $0.stringValue } } ?? value
    }

    /// The string, or nil when absent or `null` (`"addition_embed_type": null`).
    public func optionalString(_ field: String) throws -> String? { try optional(field, "a string") { $0.stringValue } }
    /// The integer, or nil when absent or `null`.
    public func optionalInt(_ field: String) throws -> Int? { try optional(field, "an integer") { $0.intValue } }

    // MARK: - Helpers

    private static func array<T>(_ value: JSONValue, _ element: (JSONValue) -> T?) -> [T]? {
        guard let items = value.arrayValue else { return nil }
        var out: [T] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = element(item) else { return nil }
            out.append(v)
        }
        return out
    }

    private func require<T>(_ field: String, _ expected: String, _ convert: (JSONValue) -> T?) throws -> T {
        guard let raw = values[field], !raw.isNull else {
            throw ModelLoadError(file: file, key: field, message: "missing field (expected \(expected))",
                                 hint: "this model needs `\(field)` in its config; the config may be from another model type or an older diffusers version")
        }
        return try converted(raw, field, expected, convert)
    }

    private func optional<T>(_ field: String, _ expected: String, _ convert: (JSONValue) -> T?) throws -> T? {
        guard let raw = values[field], !raw.isNull else { return nil }
        return try converted(raw, field, expected, convert)
    }

    private func converted<T>(_ raw: JSONValue, _ field: String, _ expected: String, _ f: (JSONValue) -> T?) throws -> T {
        guard let v = f(raw) else {
            var shown = raw.description
            if shown.count > 80 { shown = String(shown.prefix(77)) + "..." }
            throw ModelLoadError(file: file, key: field, message: "expected \(expected), found \(raw.typeName) (\(shown))",
                                 hint: "fix the value of `\(field)` in the config")
        }
        return v
    }
}
