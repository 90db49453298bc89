import CZstd

/// zstd compression of checkpoint records. Single-threaded at a fixed level, so the same input always
/// gives the same bytes.
public enum Zstd {
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "zstd: \(message)" }
    }

    public static func compress(_ input: [UInt8], level: Int32 = 3) throws -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, input.count, level)
            }
        }
        if ZSTD_isError(n) != 0 { throw Failure(message: String(cString: ZSTD_getErrorName(n))) }
        out.removeSubrange(n...)
        return out
    }

    public static func decompress(_ input: [UInt8]) throws -> [UInt8] {
        let size = input.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, input.count) }
        // ZSTD_CONTENTSIZE_UNKNOWN / ERROR are the two top values.
        guard size < UInt64.max - 1 else { throw Failure(message: "not a zstd frame with a known size (corrupt checkpoint?)") }
        guard size < 1 << 34 else { throw Failure(message: "frame claims \(size) bytes; refusing") }
        var out = [UInt8](repeating: 0, count: Int(size))
        let n = input.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_decompress(dst.baseAddress, Int(size), src.baseAddress, input.count)
            }
        }
        if ZSTD_isError(n) != 0 { throw Failure(message: String(cString: ZSTD_getErrorName(n))) }
        guard n == Int(size) else { throw Failure(message: "truncated frame") }
        return out
    }
}
