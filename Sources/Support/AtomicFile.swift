import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Crash-safe file writes: write to a temp file in the same directory, fsync it, rename over the target,
/// fsync the directory. A reader (or a resumed run) sees either the old file or the complete new one.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var operation: String
        public var code: Int32

        public init(path: String, operation: String, code: Int32) {
            self.path = path
            self.operation = operation
            self.code = code
        }

        public var description: String {
            let reason = String(cString: strerror(code))
            var hint = ""
            if code == ENOSPC { hint = " (the disk is full: free space, then resume)" }
            if code == EACCES || code == EROFS || code == EPERM { hint = " (not writable: fix the permissions or choose another directory)" }
            return "\(path): \(operation) failed: \(reason)\(hint)"
        }
    }

    /// Temp files end in this suffix; a resumed run deletes leftovers.
    public static let temporarySuffix = ".partial"

    /// Set by `writingUnsynced`: writes skip their fsyncs (the caller makes the whole folder durable once).
    @TaskLocal static var deferSync = false

    /// Runs `body` with this thread's atomic writes skipping their per-file fsyncs, then makes everything under
    /// `folder`'s file system durable with one `syncfs`. For outputs built in a staging folder that is renamed into
    /// place only afterwards (`merge`): a crash before the rename leaves only the staging folder, built again.
    public static func writingUnsynced<T>(under folder: String, _ body: () throws -> T) throws -> T {
        let result = try $deferSync.withValue(true) { try body() }
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: folder, operation: "open", code: errno) }
        defer { close(fd) }
        guard linuxSyncfs(fd) == 0 else { throw WriteError(path: folder, operation: "syncfs", code: errno) }
        return result
    }

    /// Whether this thread's writes skip their fsyncs (inside `writingUnsynced`). A task-local value does not reach
    /// Dispatch's worker threads: a parallel loop passes it on with `continuing(unsynced:_:)`.
    public static var isUnsynced: Bool { deferSync }

    public static func continuing<T>(unsynced: Bool, _ body: () throws -> T) rethrows -> T {
        try $deferSync.withValue(unsynced) { try body() }
    }

    public static func write(_ bytes: some Collection<UInt8>, to url: URL, createDirectories: Bool = true) throws {
        try write(to: url, createDirectories: createDirectories) { writeAll in
            if try bytes.withContiguousStorageIfAvailable({ try writeAll(UnsafeRawBufferPointer($0)) }) == nil {
                try Array(bytes).withUnsafeBytes { try writeAll($0) }
            }
        }
    }

    /// `write` of the bytes `body` passes to the function it is given, in order, without joining them first. A
    /// `body` that throws leaves no file.
    public static func write(streamingTo url: URL, createDirectories: Bool = true, _ body: (([UInt8]) throws -> Void) throws -> Void) throws {
        try write(to: url, createDirectories: createDirectories) { writeAll in
            try withoutActuallyEscaping(writeAll) { writeAll in try body { chunk in try chunk.withUnsafeBytes { try writeAll($0) } } }
        }
    }

    static func write(to url: URL, createDirectories: Bool, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let path = url.path
        let dir = url.deletingLastPathComponent().path
        if createDirectories { try makeDirectories(dir) }
        // In a staging folder (`writingUnsynced`) nobody reads before the rename: write in place, as `link` does.
        let target = deferSync ? path : path + ".\(getpid())" + temporarySuffix
        let fd = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(path: target, operation: "create", code: errno) }
        var ok = false
        defer { if !ok { close(fd); unlink(target) } }
        func writeAll(_ raw: UnsafeRawBufferPointer) throws {
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: target, operation: "write", code: errno)
                }
                offset += n
            }
        }
        try body(writeAll)
        if deferSync {
            ok = true
            guard close(fd) == 0 else { throw WriteError(path: target, operation: "close", code: errno) }
            return
        }
        guard fsync(fd) == 0 else { throw WriteError(path: target, operation: "fsync", code: errno) }
        close(fd)
        ok = true
        guard rename(target, path) == 0 else {
            let e = errno
            unlink(target)
            throw WriteError(path: path, operation: "rename", code: e)
        }
        syncDirectory(dir)
    }

    public static func write(_ text: String, to url: URL) throws { try write(Array(text.utf8), to: url) }

    /// A whole file's bytes, read straight into the array (no `Data` in between: merges read hundreds of MB).
    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw WriteError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw WriteError(path: path, operation: "stat", code: errno) }
        let size = Int(info.st_size)
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            count = 0
            while count < size {
                let n = Glibc.read(fd, buffer.baseAddress! + count, size - count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 {
                    failure = n < 0 ? errno : EIO  // a file that shrank while read
                    break
                }
                count += n
            }
        }
        guard failure == 0 else { throw WriteError(path: path, operation: "read", code: failure) }
        return bytes
    }

    /// Puts `source`'s bytes at `url` atomically: a hard link where the file system allows it (same device),
    /// else a copy. An existing file at `url` is replaced.
    public static func link(_ source: String, to url: URL) throws {
        let path = url.path
        // In a staging folder (`writingUnsynced`) nothing is replaced and nobody reads before the rename: link in
        // place, and look for the folder only when the link finds none (a merge links 118,287 images).
        if deferSync, Glibc.link(source, path) == 0 { return }
        try makeDirectories(url.deletingLastPathComponent().path)
        if deferSync, Glibc.link(source, path) == 0 { return }
        let tmp = path + ".\(getpid())" + temporarySuffix
        unlink(tmp)
        if Glibc.link(source, tmp) != 0 {
            let e = errno
            guard e == EXDEV || e == EPERM || e == EMLINK || e == ENOTSUP else {
                throw WriteError(path: source, operation: "link to \(path)", code: e)
            }
            guard let data = FileManager.default.contents(atPath: source) else { throw WriteError(path: source, operation: "read", code: errno) }
            try write([UInt8](data), to: url)
            return
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw WriteError(path: path, operation: "rename", code: e)
        }
        if !deferSync { syncDirectory(url.deletingLastPathComponent().path) }
    }

    public static func makeDirectories(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            // Another thread may have made it (or a parent) between the check and the call.
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return }
            throw WriteError(path: path, operation: "create directory", code: errno == 0 ? EACCES : errno)
        }
    }

    public static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

/// glibc's `syncfs(2)` (declared only with _GNU_SOURCE, so not imported by the Glibc module).
@_silgen_name("syncfs")
private func linuxSyncfs(_ fd: Int32) -> Int32

/// A file's bytes mapped read-only into memory (no copy, no fresh pages: merges read hundreds of MB of shard
/// files); unmapped when released, so `bytes` may be read only while the object is alive (`withExtendedLifetime`).
/// The file must not change while mapped.
public final class MappedFile: @unchecked Sendable {  // Unchecked: the mapping is read-only and lives as long as the object.
    public let bytes: UnsafeRawBufferPointer
    public let path: String

    public init(_ path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AtomicFile.WriteError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw AtomicFile.WriteError(path: path, operation: "stat", code: errno) }
        let size = Int(info.st_size)
        guard size > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
            throw AtomicFile.WriteError(path: path, operation: "map", code: errno)
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}
