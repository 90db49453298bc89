import Foundation
import Yams

/// Decodes Codable configuration from YAML strictly: a wrong type, a missing required value or an unknown
/// key is a `ConfigError` with the file, line and column; an unknown key also lists the valid keys and
/// suggests the nearest. Valid keys are the ones the type's `init(from:)` asks for, so a config type
/// states its keys once, in its decoding code.
public struct StrictYAMLDecoder {
    public var file: String

    public init(file: String) { self.file = file }

    /// Parses YAML text into a node, turning Yams' parser errors into a `ConfigError`.
    public func compose(_ text: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, line: 1, column: 1, message: "the file is empty", hint: "see pipelines/README.md for the format")
            }
            return node
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw ConfigError(file: file, message: "not valid YAML: \(error)")
        }
    }

    public func decode<T: Decodable>(_ type: T.Type, from node: Node, userInfo: [CodingUserInfoKey: Any] = [:], alreadyUsedKeys: Set<String> = []) throws -> T {
        let tracker = KeyTracker()
        if !alreadyUsedKeys.isEmpty, let mark = node.mark { tracker.used[MarkKey(mark), default: []].formUnion(alreadyUsedKeys) }
        let decoder = NodeDecoder(node: node, codingPath: [], context: .init(file: file, tracker: tracker, userInfo: userInfo))
        let value: T
        do {
            value = try T(from: decoder)
        } catch let error as ConfigError {
            throw error
        } catch let error as DecodingError {
            throw configError(error, root: node)
        }
        try tracker.checkUnknownKeys(in: node, file: file)
        return value
    }
}

extension StrictYAMLDecoder {
    /// A `DecodingError` thrown by a config's own checks (a value out of range, an unknown enum value) as a
    /// `ConfigError` at the value's line and column, with the message the config gave.
    func configError(_ error: DecodingError, root: Node) -> ConfigError {
        let (path, message): ([CodingKey], String)
        switch error {
        case .dataCorrupted(let c): (path, message) = (c.codingPath, c.debugDescription)
        case .typeMismatch(let type, let c): (path, message) = (c.codingPath, "expected \(type): \(c.debugDescription)")
        case .valueNotFound(let type, let c): (path, message) = (c.codingPath, "missing a value of type \(type)")
        case .keyNotFound(let key, let c): (path, message) = (c.codingPath, "missing required key `\(key.stringValue)`")
        @unknown default: (path, message) = ([], "\(error)")
        }
        let node = Self.node(at: path, in: root)
        let context = DecodingContext(file: file, tracker: KeyTracker(), userInfo: [:])
        return context.error(node ?? root, path, message, hint: "see pipelines/README.md for every key and its allowed values")
    }

    /// The node a coding path leads to, or the deepest one found on the way.
    static func node(at path: [CodingKey], in root: Node) -> Node? {
        var current = root
        for key in path {
            if let index = key.intValue, case .sequence(let items) = current, index < items.count {
                current = items[index]
            } else if case .mapping(let mapping) = current, let child = mapping[key.stringValue] {
                current = child
            } else {
                break
            }
        }
        return current
    }
}

struct MarkKey: Hashable {
    var line: Int, column: Int
    init(_ m: Mark) { line = m.line; column = m.column }
}

final class KeyTracker {
    /// Keys asked for, per mapping (identified by its position in the file).
    var used: [MarkKey: Set<String>] = [:]
    var visitedMappings: Set<MarkKey> = []

    func checkUnknownKeys(in node: Node, file: String) throws {
        switch node {
        case .mapping(let mapping):
            if let mark = mapping.mark, visitedMappings.contains(MarkKey(mark)) {
                let valid = used[MarkKey(mark)] ?? []
                for (key, _) in mapping {
                    guard let name = key.string else { continue }
                    if !valid.contains(name) {
                        let sorted = valid.sorted()
                        var hint = sorted.isEmpty ? "this mapping takes no keys" : "valid keys here: \(sorted.joined(separator: ", "))"
                        if let near = nearest(name, in: sorted) { hint = "did you mean `\(near)`? " + hint }
                        throw ConfigError(file: file, line: key.mark?.line, column: key.mark?.column,
                                          message: "unknown key `\(name)`", hint: hint)
                    }
                }
            }
            for (_, value) in mapping { try checkUnknownKeys(in: value, file: file) }
        case .sequence(let seq):
            for item in seq { try checkUnknownKeys(in: item, file: file) }
        default:
            break
        }
    }
}

struct DecodingContext {
    var file: String
    var tracker: KeyTracker
    var userInfo: [CodingUserInfoKey: Any]

    func error(_ node: Node?, _ path: [CodingKey], _ message: String, hint: String? = nil) -> ConfigError {
        let where_ = path.isEmpty ? "" : "`\(render(path))`: "
        return ConfigError(file: file, line: node?.mark?.line, column: node?.mark?.column, message: where_ + message, hint: hint)
    }

    func render(_ path: [CodingKey]) -> String {
        var s = ""
        for key in path {
            if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return s
    }
}

struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue!)" }
    var intValue: Int?
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

struct NodeDecoder: Decoder {
    let node: Node
    let codingPath: [CodingKey]
    let context: DecodingContext
    var userInfo: [CodingUserInfoKey: Any] { context.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = node else {
            throw context.error(node, codingPath, "expected a mapping (key: value lines), found \(describe(node))")
        }
        if let mark = mapping.mark { context.tracker.visitedMappings.insert(MarkKey(mark)) }
        return KeyedDecodingContainer(MappingContainer<Key>(mapping: mapping, node: node, codingPath: codingPath, context: context))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let seq) = node else {
            throw context.error(node, codingPath, "expected a list, found \(describe(node))")
        }
        return SequenceContainer(items: Array(seq), codingPath: codingPath, context: context)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        ScalarContainer(node: node, codingPath: codingPath, context: context)
    }
}

func describe(_ node: Node) -> String {
    switch node {
    case .scalar(let s): return s.string.isEmpty ? "an empty value" : "'\(s.string)'"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

struct MappingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let mapping: Node.Mapping
    let node: Node
    let codingPath: [CodingKey]
    let context: DecodingContext

    var allKeys: [Key] {
        mapping.compactMap { $0.key.string }.compactMap { key in
            markUsed(key)
            return Key(stringValue: key)
        }
    }

    func markUsed(_ key: String) {
        if let mark = mapping.mark { context.tracker.used[MarkKey(mark), default: []].insert(key) }
    }

    func child(_ key: Key) -> Node? {
        markUsed(key.stringValue)
        return mapping[key.stringValue]
    }

    func contains(_ key: Key) -> Bool {
        guard let n = child(key) else { return false }
        if case .scalar(let s) = n, s.tag.description == Tag.Name.null.rawValue || (s.string == "" && s.style == .plain) || s.string == "~" || s.string == "null" { return false }
        return true
    }

    func require(_ key: Key) throws -> Node {
        guard let n = child(key) else {
            throw context.error(node, codingPath, "missing required key `\(key.stringValue)`")
        }
        return n
    }

    func decoder(for key: Key) throws -> NodeDecoder {
        NodeDecoder(node: try require(key), codingPath: codingPath + [key], context: context)
    }

    func decodeNil(forKey key: Key) throws -> Bool { !contains(key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: decoder(for: key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard contains(key) else { return nil }
        return try decode(type, forKey: key)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(for: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder(for: key).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { NodeDecoder(node: node, codingPath: codingPath, context: context) }
    func superDecoder(forKey key: Key) throws -> Decoder { try decoder(for: key) }
}

struct SequenceContainer: UnkeyedDecodingContainer {
    let items: [Node]
    let codingPath: [CodingKey]
    let context: DecodingContext
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [Node], codingPath: [CodingKey], context: DecodingContext) {
        self.items = items
        self.codingPath = codingPath
        self.context = context
    }

    mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw context.error(items.last, codingPath, "the list has too few items (\(items.count))")
        }
        defer { currentIndex += 1 }
        return NodeDecoder(node: items[currentIndex], codingPath: codingPath + [IndexKey(currentIndex)], context: context)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .scalar(let s) = items[currentIndex], s.string == "null" || s.string == "~" else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: next()) }
    mutating func nestedContainer<N: CodingKey>(keyedBy type: N.Type) throws -> KeyedDecodingContainer<N> { try next().container(keyedBy: type) }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

struct ScalarContainer: SingleValueDecodingContainer {
    let node: Node
    let codingPath: [CodingKey]
    let context: DecodingContext

    func scalar(_ what: String) throws -> Node.Scalar {
        guard case .scalar(let s) = node else {
            throw context.error(node, codingPath, "expected \(what), found \(describe(node))")
        }
        return s
    }

    func convert<T>(_ what: String, _ f: (Node.Scalar) -> T?) throws -> T {
        let s = try scalar(what)
        guard let v = f(s) else { throw context.error(node, codingPath, "expected \(what), found '\(s.string)'") }
        return v
    }

    func decodeNil() -> Bool {
        if case .scalar(let s) = node { return s.string == "null" || s.string == "~" || (s.string.isEmpty && s.style == .plain) }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool { try convert("true or false") { Bool.construct(from: $0) } }
    func decode(_ type: String.Type) throws -> String { try convert("a string") { $0.string } }
    func decode(_ type: Double.Type) throws -> Double { try convert("a number") { Double($0.string) } }
    func decode(_ type: Float.Type) throws -> Float { try convert("a number") { Float($0.string) } }
    func decode(_ type: Int.Type) throws -> Int { try convert("a whole number") { Int($0.string) } }
    func decode(_ type: Int8.Type) throws -> Int8 { try convert("a whole number") { Int8($0.string) } }
    func decode(_ type: Int16.Type) throws -> Int16 { try convert("a whole number") { Int16($0.string) } }
    func decode(_ type: Int32.Type) throws -> Int32 { try convert("a whole number") { Int32($0.string) } }
    func decode(_ type: Int64.Type) throws -> Int64 { try convert("a whole number") { Int64($0.string) } }
    func decode(_ type: UInt.Type) throws -> UInt { try convert("a non-negative whole number") { UInt($0.string) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try convert("a non-negative whole number") { UInt8($0.string) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try convert("a non-negative whole number") { UInt16($0.string) } }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try convert("a non-negative whole number") { UInt32($0.string) } }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try convert("a non-negative whole number") { UInt64($0.string) } }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: NodeDecoder(node: node, codingPath: codingPath, context: context)) }
}
