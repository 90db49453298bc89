#if canImport(Glibc)
import Glibc
private let systemRead = Glibc.read
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
import Darwin
private let systemRead = Darwin.read
private let systemWrite = Darwin.write
#endif

/// Whole-file reads and atomic writes with plain error messages ("No such file or directory").
enum FileIO {
    private static func systemError() -> String { String(cString: strerror(errno)) }

    static func read(path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        if fd < 0 { throw ImagingError.fileRead(path: path, reason: systemError()) }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) != 0 { throw ImagingError.fileRead(path: path, reason: systemError()) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ImagingError.fileRead(path: path, reason: "is a directory") }
        var result = [UInt8]()
        result.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ImagingError.fileRead(path: path, reason: systemError())
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Writes to a temporary file next to `path`, then renames it over `path`, so that a reader
    /// never sees half a file.
    static func writeAtomically(_ bytes: [UInt8], path: String) throws {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        if fd < 0 { throw ImagingError.fileWrite(path: path, reason: systemError()) }
        var ok = false
        defer { if !ok { unlink(temporary) } }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                let reason = systemError()
                close(fd)
                throw ImagingError.fileWrite(path: path, reason: reason)
            }
            offset += n
        }
        if close(fd) != 0 { throw ImagingError.fileWrite(path: path, reason: systemError()) }
        if rename(temporary, path) != 0 { throw ImagingError.fileWrite(path: path, reason: systemError()) }
        ok = true
    }
}
