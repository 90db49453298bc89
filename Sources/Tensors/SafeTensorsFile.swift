import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A safetensors file opened for reading. The file is memory-mapped (read-only, private), so opening a
/// multi-GB checkpoint reads only its header; `tensor(_:)` converts one tensor to fp32 on demand.
///
/// The header is validated on open (see `SafeTensorsHeader`): a crafted or truncated file fails with a
/// `WeightError` naming the file and tensor instead of reading out of bounds. A file that is truncated by
/// another process *after* it was opened can still fault on access (a property of memory mapping).
///
/// Immutable after `init`, so it is safe to share between threads.
// Unchecked: holds a raw pointer to its read-only mapping; nothing is mutated after init.
public final class SafeTensorsFile: @unchecked Sendable {
    public let url: URL
    public let header: SafeTensorsHeader
    /// Size of the file in bytes.
    public let fileSize: Int
    /// Tensor names, sorted (by UTF-8 bytes, as the reference writer orders them).
    public let names: [String]

    private let base: UnsafeRawPointer?

    public var path: String { url.path }
    public var metadata: [String: String] { header.metadata }

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw WeightError(file: path, message: "cannot open: \(String(cString: strerror(code)))",
                              hint: code == ENOENT ? "check the path; the file does not exist" : "check the file's permissions")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw WeightError(file: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw WeightError(file: path, message: "not a regular file", hint: "pass the path of a .safetensors file")
        }
        let size = Int(st.st_size)
        var mapped: UnsafeRawPointer? = nil
        if size > 0 {
            let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            guard let p, p != MAP_FAILED else {
                throw WeightError(file: path, message: "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
            }
            mapped = UnsafeRawPointer(p)
        }
        do {
            header = try SafeTensorsHeader.parse(fileBytes: UnsafeRawBufferPointer(start: mapped, count: size), file: path)
        } catch {
            if let mapped { munmap(UnsafeMutableRawPointer(mutating: mapped), size) }
            throw error
        }
        base = mapped
        fileSize = size
        names = header.tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }
    }

    public func info(_ name: String) -> SafeTensorsTensorInfo? { header.tensors[name] }

    public func contains(_ name: String) -> Bool { header.tensors[name] != nil }

    /// The raw little-endian bytes of a tensor, valid while this file is alive.
    public func withRawBytes<R>(of name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let info = try requireInfo(name)
        return try body(rawBytes(info))
    }

    /// The tensor converted to fp32 (F32 is copied, F16 and BF16 are widened exactly).
    public func tensor(_ name: String) throws -> Tensor {
        let info = try requireInfo(name)
        guard info.dtype.isFloatingPointSupported else {
            throw WeightError(file: path, key: name,
                              message: "dtype \(info.dtype.rawValue) cannot be loaded as a float tensor (supported: \(SafeTensorsDType.supportedList))",
                              hint: "re-export the weights with float tensors (F32, F16 or BF16)")
        }
        let count = info.elementCount
        let raw = rawBytes(info)
        let scalars = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            guard count > 0, let out = buffer.baseAddress else { initialized = 0; return }
            switch info.dtype {
            case .f32:
                #if _endian(little)
                UnsafeMutableRawPointer(out).copyMemory(from: raw.baseAddress!, byteCount: count * 4)
                #else
                for i in 0..<count {
                    out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
                #endif
            case .f16:
                Float16Conversion.halfTable.withUnsafeBufferPointer { table in
                    for i in 0..<count {
                        out[i] = table[Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))]
                    }
                }
            case .bf16:
                for i in 0..<count {
                    out[i] = Float16Conversion.float(fromBFloat16Bits: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            default:
                preconditionFailure("unreachable: dtype checked above")
            }
            initialized = count
        }
        return Tensor(shape: info.shape, scalars: scalars)
    }

    private func requireInfo(_ name: String) throws -> SafeTensorsTensorInfo {
        guard let info = header.tensors[name] else {
            throw WeightError(file: path, key: name, message: "no such tensor in the file (\(names.count) tensors)")
        }
        return info
    }

    private func rawBytes(_ info: SafeTensorsTensorInfo) -> UnsafeRawBufferPointer {
        guard let base, !info.dataOffsets.isEmpty else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + header.dataStart + info.dataOffsets.lowerBound, count: info.byteCount)
    }
}
