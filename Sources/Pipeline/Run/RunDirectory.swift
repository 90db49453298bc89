import Foundation
import Datasets
#if canImport(Glibc)
import Glibc
import Support
#endif

/// The folder a run lives in:
///
///     pipeline.yaml      the pipeline file as given       plan.json        the resolved plan
///     fingerprint.json   hashes of plan, inputs, models   lock             held while a process runs it
///     checkpoints/       one file per committed unit      output/<stage>/  each write stage's dataset
///     report.json/.md    the run report                   log.txt          the log
///     work/<stage>/      intermediate files of a stage (generated images)
// Unchecked: `lockDescriptor` is set once, by `lock()` before any worker starts; the rest is immutable.
public final class RunDirectory: @unchecked Sendable {
    public let url: URL
    private var lockDescriptor: Int32 = -1

    public init(_ url: URL) { self.url = url.standardized }

    public var path: String { url.path }
    public var pipelineCopy: URL { url.appendingPathComponent("pipeline.yaml") }
    public var planFile: URL { url.appendingPathComponent("plan.json") }
    public var originFile: URL { url.appendingPathComponent("origin.json") }
    public var fingerprintFile: URL { url.appendingPathComponent("fingerprint.json") }
    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
    public var reportJSON: URL { url.appendingPathComponent("report.json") }
    public var reportMarkdown: URL { url.appendingPathComponent("report.md") }
    public var logFile: URL { url.appendingPathComponent("log.txt") }

    public func output(of stage: String) -> URL { url.appendingPathComponent("output").appendingPathComponent(stage) }
    /// A stage's intermediate files (generated images before a write stage copies them into a dataset).
    public func work(of stage: String) -> URL { url.appendingPathComponent("work").appendingPathComponent(stage) }
    /// A shard's parts for merging a sink by splicing (`SplicingSink`): `splice/<stage>/`.
    public func splice(of stage: String) -> URL { url.appendingPathComponent("splice").appendingPathComponent(stage) }

    public var exists: Bool { FileManager.default.fileExists(atPath: planFile.path) }

    /// Takes the run's lock, or explains who holds it. Released when the process exits, however it exits.
    public func lock() throws {
        try AtomicFile.makeDirectories(url.path)
        let path = url.appendingPathComponent("lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PipelineError(message: "cannot create \(path): \(String(cString: strerror(errno)))",
                                hint: "the run directory must be writable: fix its permissions (or, for a new run, choose another folder with --run-dir)")
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, 31)
            let holder = n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw PipelineError(message: "another dataengine process (pid \(holder)) is using \(url.path)",
                                hint: "wait for it to finish, or stop it (Ctrl-C) and run `dataengine resume \(url.path)`")
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        lockDescriptor = fd
    }

    /// Deletes temp files left by a process that died mid-write.
    public func removeLeftoverTemporaryFiles() {
        guard let walker = FileManager.default.enumerator(atPath: url.path) else { return }
        var leftovers: [String] = []
        while let rel = walker.nextObject() as? String {
            if rel.hasSuffix(AtomicFile.temporarySuffix) { leftovers.append(rel) }
        }
        for rel in leftovers { unlink(url.appendingPathComponent(rel).path) }
    }

    deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }
}
