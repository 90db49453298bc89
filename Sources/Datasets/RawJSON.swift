/// A JSON value kept as its exact source bytes (COCO `segmentation`, `info`, `licenses`): never parsed into
/// objects, written back verbatim. Many values may share one storage buffer, so a dataset with 860k
/// polygons costs one allocation, not 860k.
public struct RawJSON: Hashable, Sendable, Codable, CustomStringConvertible {
    public final class Storage: Sendable {
        public let bytes: [UInt8]
        public init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    public let storage: Storage
    public let range: Range<Int>

    public init(storage: Storage, range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= storage.bytes.count)
        self.storage = storage
        self.range = range
    }

    public init<S: Sequence>(bytes: S) where S.Element == UInt8 {
        let array = Array(bytes)
        self.init(storage: Storage(array), range: 0..<array.count)
    }

    public init(_ text: String) { self.init(bytes: Array(text.utf8)) }

    public var bytes: ArraySlice<UInt8> { storage.bytes[range] }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { text }

    public static func == (a: RawJSON, b: RawJSON) -> Bool { a.bytes.elementsEqual(b.bytes) }
    public func hash(into hasher: inout Hasher) { hasher.combine(range.count); for b in bytes.prefix(64) { hasher.combine(b) } }

    // Checkpoints carry it as a string holding the JSON text.
    public init(from decoder: Decoder) throws { self.init(try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(text)
    }
}
