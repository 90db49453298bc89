import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr: per stage, units and items done of the total, items/s, and ETA. On a terminal one
/// live line is redrawn; otherwise a plain line is printed every `interval` seconds and when a stage ends.
// Unchecked: every mutable property is read and written with `lock` held.
public final class ProgressReporter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTTY: Bool
    private let interval: TimeInterval
    private var names: [String] = []
    private var startedAt: [Int: Date] = [:]
    private var initialDone: [Int: Int] = [:]
    private var lastPlain = Date.distantPast
    private var finishedStages = Set<Int>()
    private var lastLine = ""
    private let write: (String) -> Void
    /// Extra text for the end of the line (e.g. images generated so far inside long units), asked at each redraw.
    public var detail: (@Sendable () -> String?)?

    public init(isTTY: Bool = isatty(STDERR_FILENO) == 1, interval: TimeInterval = 10,
                write: @escaping (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.isTTY = isTTY
        self.interval = interval
        self.write = write
    }

    func begin(stages: [String]) {
        lock.lock(); defer { lock.unlock() }
        names = stages
    }

    /// `units[i]`: units done and total (nil while unknown) of stage i.
    func update(units: [(done: Int, total: Int?)], batchSize: Int) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        var parts: [String] = []
        var stageEnded = false
        for (i, row) in units.enumerated() where i < names.count {
            if startedAt[i] == nil && row.total != nil { startedAt[i] = now; initialDone[i] = row.done }
            guard let total = row.total else { parts.append("\(names[i]) waiting"); continue }
            if row.done >= total {
                if !finishedStages.contains(i) { finishedStages.insert(i); stageEnded = true }
                parts.append("\(names[i]) done")
                continue
            }
            let newDone = row.done - (initialDone[i] ?? 0)
            let elapsed = now.timeIntervalSince(startedAt[i] ?? now)
            var text = "\(names[i]) \(row.done)/\(total) units (~\(row.done * batchSize) items)"
            if newDone > 0 && elapsed > 0 {
                let rate = Double(newDone) / elapsed
                text += String(format: ", %.1f items/s, ETA %@", rate * Double(batchSize), Self.clock(Double(total - row.done) / rate))
            }
            parts.append(text)
        }
        if let extra = detail?() { parts.append(extra) }
        let line = parts.joined(separator: " | ")
        if isTTY {
            write("\r\u{1B}[2K" + line)
        } else if stageEnded || now.timeIntervalSince(lastPlain) >= interval, line != lastLine {
            write(line + "\n")
            lastPlain = now
        }
        lastLine = line
    }

    func finish() {
        lock.lock(); defer { lock.unlock() }
        if isTTY { write("\n") }
    }

    static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
