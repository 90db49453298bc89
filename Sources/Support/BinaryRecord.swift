import Foundation

/// Writes a run's own binary files (merge's splice parts): a tag, then values in the order they are written,
/// integers as 64-bit and doubles as their IEEE bits, little-endian, arrays and strings after their count.
/// Nothing outside DataEngine reads these; `BinaryReader` reads them back in the same order.
public struct BinaryWriter {
    public private(set) var bytes: [UInt8] = []

    /// `tag` names the file's kind and version, e.g. "coco-splice-1"; the reader refuses another.
    public init(tag: String) { string(tag) }

    public mutating func int(_ value: Int) {
        withUnsafeBytes(of: Int64(value).littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func ints(_ values: [Int]) {
        int(values.count)
        let little = values.map { Int64($0).littleEndian }
        little.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func doubles(_ values: [Double]) {
        int(values.count)
        let little = values.map { $0.bitPattern.littleEndian }
        little.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }

    public mutating func blob(_ values: [UInt8]) {
        int(values.count)
        bytes.append(contentsOf: values)
    }

    public mutating func string(_ value: String) { blob(Array(value.utf8)) }

    public mutating func strings(_ values: [String]) {
        int(values.count)
        for value in values { string(value) }
    }
}

/// Reads what `BinaryWriter` wrote; a short or foreign file is an error naming it.
public struct BinaryReader {
    public struct Failure: Error, CustomStringConvertible {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
        public init(file: String, message: String) { (self.file, self.message) = (file, message) }
    }

    let bytes: [UInt8]
    let file: String
    var offset = 0

    public init(bytes: [UInt8], file: String, tag: String) throws {
        self.bytes = bytes
        self.file = file
        let found = try string()
        guard found == tag else { throw Failure(file: file, message: "is a \"\(found)\" file, not \"\(tag)\"") }
    }

    public init(contentsOf url: URL, tag: String) throws {
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(url.path) } catch { throw Failure(file: url.path, message: "cannot be read (\(error))") }
        try self.init(bytes: bytes, file: url.path, tag: tag)
    }

    mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= bytes.count - offset else {
            throw Failure(file: file, message: "ends early (a record of \(count) bytes at offset \(offset) of \(bytes.count))")
        }
        defer { offset += count }
        return offset..<(offset + count)
    }

    public mutating func int() throws -> Int {
        let range = try take(8)
        var value: Int64 = 0
        withUnsafeMutableBytes(of: &value) { target in bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[range])) } }
        return Int(Int64(littleEndian: value))
    }

    func count() throws -> Int { try BinaryReader.nonNegative(Int(Int64(littleEndian: peek())), file: file, offset: offset) }

    func peek() throws -> Int64 {
        guard bytes.count - offset >= 8 else { throw Failure(file: file, message: "ends early (at offset \(offset))") }
        var value: Int64 = 0
        withUnsafeMutableBytes(of: &value) { target in bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + 8)])) } }
        return value
    }

    static func nonNegative(_ n: Int, file: String, offset: Int) throws -> Int {
        guard n >= 0 else { throw Failure(file: file, message: "holds a negative count at offset \(offset)") }
        return n
    }

    /// `count` raw 64-bit words after a count word.
    mutating func words<T>(_ make: (UInt64) -> T) throws -> [T] {
        let n = try count()
        _ = try take(8)
        guard n <= (bytes.count - offset) / 8 else { throw Failure(file: file, message: "ends early (\(n) values at offset \(offset))") }
        let range = try take(8 * n)
        var raw = [UInt64](repeating: 0, count: n)
        raw.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[range])) } }
        return raw.map { make(UInt64(littleEndian: $0)) }
    }

    public mutating func ints() throws -> [Int] { try words { Int(Int64(bitPattern: $0)) } }

    public mutating func doubles() throws -> [Double] { try words { Double(bitPattern: $0) } }

    public mutating func blob() throws -> [UInt8] {
        let n = try count()
        _ = try take(8)
        return Array(bytes[try take(n)])
    }

    public mutating func string() throws -> String { String(decoding: try blob(), as: UTF8.self) }

    public mutating func strings() throws -> [String] {
        let n = try count()
        _ = try take(8)
        guard n <= (bytes.count - offset) / 8 else { throw Failure(file: file, message: "ends early (\(n) strings at offset \(offset))") }
        return try (0..<n).map { _ in try string() }
    }

    /// True when every byte was read.
    public var isAtEnd: Bool { offset == bytes.count }
}
