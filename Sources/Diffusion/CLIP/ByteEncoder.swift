/// GPT-2 / CLIP `bytes_to_unicode()`: a reversible map from the 256 byte values to printable Unicode scalars, so
/// that byte-level BPE can work on strings without whitespace or control characters. The 188 printable bytes
/// (`!`…`~`, `¡`…`¬`, `®`…`ÿ`) map to themselves; the other 68 map, in byte order, to U+0100…U+0143.
enum ByteEncoder {
    /// Byte value -> the scalar value standing for it in vocabulary and merges strings.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var isPrintable = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { isPrintable[b] = true }
        for b in 0xA1...0xAC { isPrintable[b] = true }
        for b in 0xAE...0xFF { isPrintable[b] = true }
        var next: UInt32 = 256
        for b in 0..<256 {
            if isPrintable[b] {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Scalar value -> byte, for the 256 scalars of `scalarForByte` (indexable by value up to U+0143).
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The UTF-8 bytes of the vocabulary string that stands for `byte` (one scalar, one or two UTF-8 bytes).
    static func utf8(ofByte byte: UInt8) -> [UInt8] {
        Array(String(Character(Unicode.Scalar(scalarForByte[Int(byte)])!)).utf8)
    }

    /// The bytes that a vocabulary string stands for, or nil when it holds a scalar outside the table.
    static func decode<S: Sequence>(_ scalars: S) -> [UInt8]? where S.Element == Unicode.Scalar {
        var out: [UInt8] = []
        for s in scalars {
            guard s.value < 0x144, byteForScalar[Int(s.value)] >= 0 else { return nil }
            out.append(UInt8(byteForScalar[Int(s.value)]))
        }
        return out
    }
}
