import Foundation
import Logging

/// A swift-log handler appending timestamped lines to a file (the run's log.txt).
public struct FileLogHandler: LogHandler {
    /// Opens the file (and makes its folder) at the first line, so a run refused before it starts leaves nothing.
    // Unchecked: the file handle is only opened and written with `lock` held.
    final class Sink: @unchecked Sendable {
        let path: String
        private var handle: FileHandle?
        private let lock = NSLock()
        init(path: String) { self.path = path }
        func write(_ line: String) {
            lock.lock(); defer { lock.unlock() }
            if handle == nil {
                try? FileManager.default.createDirectory(atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                                                         withIntermediateDirectories: true)
                if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
                handle = FileHandle(forWritingAtPath: path)
                _ = try? handle?.seekToEnd()
            }
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

    /// A logger writing to `path`, creating its folder at the first line.
    public static func logger(label: String, path: String) -> Logger {
        Logger(label: label) { _ in FileLogHandler(label: label, path: path) }
    }
}
