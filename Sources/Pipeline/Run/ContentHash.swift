import Foundation

/// A fast 64-bit content hash (not cryptographic) for noticing changed inputs, plans and weights.
public struct ContentHash: Sendable {
    private var state: UInt64 = 0x243F_6A88_85A3_08D3
    private var length: UInt64 = 0

    public init() {}

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        var i = 0
        let n = buffer.count
        while i + 8 <= n {
            let word = buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            state = (state ^ word) &* 0x9E37_79B9_7F4A_7C15
            state = (state << 29) | (state >> 35)
            i += 8
        }
        while i < n {
            state = (state ^ UInt64(buffer[i])) &* 0x1000_0000_01B3
            i += 1
        }
        length &+= UInt64(n)
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    public mutating func update(_ text: String) { update(Array(text.utf8) + [0]) }

    public var hex: String {
        var z = state ^ length
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return String(format: "%016llx", z)
    }

    /// Hash of a file's bytes, read in chunks.
    public static func ofFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PipelineError(message: "cannot read \(path)", hint: "check that the file exists and is readable")
        }
        defer { try? handle.close() }
        var hash = ContentHash()
        while true {
            let chunk = handle.readData(ofLength: 8 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.hex
    }
}
