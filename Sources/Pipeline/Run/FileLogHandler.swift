import Foundation
import Logging

/// A swift-log handler appending timestamped lines to a file (the run's log.txt).
public struct FileLogHandler: LogHandler {
    // Unchecked: the file handle is only written with `lock` held.
    final class Sink: @unchecked Sendable {
        let handle: FileHandle?
        let lock = NSLock()
        init(path: String) {
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            handle = FileHandle(forWritingAtPath: path)
            _ = try? handle?.seekToEnd()
        }
        func write(_ line: String) {
            lock.lock(); defer { lock.unlock() }
            try? handle?.write(contentsOf: Data(line.utf8))
        }
    }

    let sink: Sink
    let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(label: String, path: String) {
        self.label = label
        sink = Sink(path: path)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        sink.write("\(stamp) \(event.level) \(label): \(event.message)\n")
    }

    /// A logger writing to `path`, creating its folder if needed.
    public static func logger(label: String, path: String) -> Logger {
        try? FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
        return Logger(label: label) { _ in FileLogHandler(label: label, path: path) }
    }
}
