/// Writes JSON text into a growing byte buffer, deterministically: the caller fixes key order and layout;
/// numbers and strings always come out the same way for the same value.
///
/// - Integral doubles up to 2^53 in magnitude are written as integers ("10", not "10.0"); other doubles as
///   Swift's shortest representation that reads back to the same value ("473.07", "1e-05").
/// - Strings escape `"`, `\` and control characters; everything else, non-ASCII included, is written as is.
package struct JSONEmitter {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) package mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always) package mutating func byte(_ b: UInt8) { bytes.append(b) }

    package mutating func raw(_ json: RawJSON) { bytes.append(contentsOf: json.bytes) }

    package mutating func int(_ v: Int) {
        if v < 0 {
            bytes.append(UInt8(ascii: "-"))
            uint(v.magnitude.asUInt64)
        } else {
            uint(UInt64(v))
        }
    }

    package mutating func uint(_ v: UInt64) {
        if v < 10 { bytes.append(UInt8(ascii: "0") + UInt8(v)); return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var n = v
            var i = 20
            while n > 0 {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }

    /// Writes a finite double; returns false (writing nothing) for NaN and infinities, which JSON cannot hold.
    @discardableResult
    package mutating func double(_ v: Double) -> Bool {
        guard v.isFinite else { return false }
        if v.rounded() == v && abs(v) <= 9_007_199_254_740_992 {  // 2^53: every such integer is exact
            int(Int(v))
        } else {
            var text = v.description
            text.withUTF8 { bytes.append(contentsOf: $0) }
        }
        return true
    }

    package mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            for (i, c) in utf8.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                runStart = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(c)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    let hex: [UInt8] = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 15)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

private extension UInt {
    var asUInt64: UInt64 { UInt64(self) }
}
