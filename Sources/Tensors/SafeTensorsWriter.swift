import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes safetensors files with the same bytes as the reference implementation (Python `safetensors`,
/// whose header is serde_json's compact output) for a single-dtype file: `__metadata__` first (when given),
/// then the tensors sorted by name (UTF-8 byte order), laid out back to back in that order, the header
/// padded with spaces to a multiple of 8 bytes. Metadata keys, which the reference writes in hash order,
/// are sorted, so the output is deterministic.
///
/// F16 and BF16 round to nearest, ties to even (numpy's `astype(float16)`, PyTorch's `.half()`).
public enum SafeTensorsWriter {
    /// Writes `tensors` to `url` atomically: a temporary file in the same directory, fsync, rename over
    /// `url`, fsync of the directory. Tensor data is converted and written in chunks, so the only extra
    /// memory is a small buffer.
    public static func write(_ tensors: [String: Tensor], to url: URL, dtype: SafeTensorsDType = .f32,
                             metadata: [String: String]? = nil) throws {
        let path = url.path
        let layout = try makeLayout(tensors, dtype: dtype, metadata: metadata, file: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = path + ".\(getpid()).\(UUID().uuidString.prefix(8)).partial"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ioError(path: tmp, operation: "create", code: errno) }
        var done = false
        defer {
            if !done {
                close(fd)
                unlink(tmp)
            }
        }
        var failure: WeightError? = nil
        emit(layout, tensors: tensors, dtype: dtype) { chunk in
            guard failure == nil else { return }
            var offset = 0
            while offset < chunk.count {
                let n = posixWrite(fd, chunk.baseAddress! + offset, chunk.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = ioError(path: tmp, operation: "write", code: errno)
                    return
                }
                offset += n
            }
        }
        if let failure { throw failure }
        guard fsync(fd) == 0 else { throw ioError(path: tmp, operation: "fsync", code: errno) }
        close(fd)
        done = true
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw ioError(path: path, operation: "rename", code: code)
        }
        let dirFD = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// The bytes `write` would write.
    public static func serialize(_ tensors: [String: Tensor], dtype: SafeTensorsDType = .f32,
                                 metadata: [String: String]? = nil) throws -> [UInt8] {
        let layout = try makeLayout(tensors, dtype: dtype, metadata: metadata, file: "<memory>")
        var out: [UInt8] = []
        out.reserveCapacity(8 + layout.header.count + layout.dataSize)
        emit(layout, tensors: tensors, dtype: dtype) { out.append(contentsOf: $0) }
        return out
    }

    // MARK: - Layout

    private struct Layout {
        var names: [String]
        var header: [UInt8]  // padded JSON
        var dataSize: Int
    }

    private static func makeLayout(_ tensors: [String: Tensor], dtype: SafeTensorsDType,
                                   metadata: [String: String]?, file: String) throws -> Layout {
        guard dtype.isFloatingPointSupported else {
            throw WeightError(file: file, message: "cannot write dtype \(dtype.rawValue)",
                              hint: "write one of \(SafeTensorsDType.supportedList)")
        }
        if tensors["__metadata__"] != nil {
            throw WeightError(file: file, key: "__metadata__", message: "`__metadata__` is reserved for the metadata and cannot name a tensor",
                              hint: "rename the tensor")
        }
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var json = "{"
        var first = true
        if let metadata {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                .map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = t.count * dtype.byteSize
            if !first { json += "," }
            first = false
            json += "\(jsonString(name)):{\"dtype\":\"\(dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],"
                + "\"data_offsets\":[\(offset),\(offset + bytes)]}"
            offset += bytes
        }
        json += "}"
        var header = Array(json.utf8)
        header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))
        guard header.count <= SafeTensorsHeader.maximumHeaderLength else {
            throw WeightError(file: file, message: "the header would be \(header.count) bytes, over the reader's limit",
                              hint: "split the tensors over several files (shards)")
        }
        return Layout(names: names, header: header, dataSize: offset)
    }

    /// JSON string literal as serde_json writes it: `"` and `\` escaped, control characters as `\n`-style
    /// short escapes or `\u00xx`, everything else (including non-ASCII) as UTF-8.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    // MARK: - Bytes

    /// Produces the file's bytes in order, in chunks of at most ~256 KB of tensor data.
    private static func emit(_ layout: Layout, tensors: [String: Tensor], dtype: SafeTensorsDType,
                             _ sink: (UnsafeRawBufferPointer) -> Void) {
        var length = UInt64(layout.header.count).littleEndian
        withUnsafeBytes(of: &length) { sink($0) }
        layout.header.withUnsafeBytes { sink($0) }
        let chunkElements = 65_536
        var buffer = [UInt8](repeating: 0, count: chunkElements * dtype.byteSize)
        for name in layout.names {
            tensors[name]!.scalars.withUnsafeBufferPointer { scalars in
                var start = 0
                while start < scalars.count {
                    let end = min(start + chunkElements, scalars.count)
                    let used = (end - start) * dtype.byteSize
                    buffer.withUnsafeMutableBytes { out in
                        for i in start..<end {
                            let at = (i - start) * dtype.byteSize
                            switch dtype {
                            case .f16:
                                out.storeBytes(of: Float16Conversion.halfBits(from: scalars[i]).littleEndian, toByteOffset: at, as: UInt16.self)
                            case .bf16:
                                out.storeBytes(of: Float16Conversion.bfloat16Bits(from: scalars[i]).littleEndian, toByteOffset: at, as: UInt16.self)
                            default:
                                out.storeBytes(of: scalars[i].bitPattern.littleEndian, toByteOffset: at, as: UInt32.self)
                            }
                        }
                        sink(UnsafeRawBufferPointer(rebasing: out[0..<used]))
                    }
                    start = end
                }
            }
        }
    }

    private static func ioError(path: String, operation: String, code: Int32) -> WeightError {
        var hint: String? = nil
        if code == ENOSPC { hint = "the disk is full: free space and try again" }
        if code == EACCES || code == EROFS || code == EPERM { hint = "not writable: fix the permissions or choose another directory" }
        if code == ENOENT { hint = "the directory does not exist: create it first" }
        return WeightError(file: path, message: "\(operation) failed: \(String(cString: strerror(code)))", hint: hint)
    }
}

private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return Glibc.write(fd, buffer, count)
    #else
    return Darwin.write(fd, buffer, count)
    #endif
}
