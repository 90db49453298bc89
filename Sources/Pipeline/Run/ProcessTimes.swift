import Foundation
import Support

/// The wall time of every process that worked on a run, so the report's wall time covers them all: each process
/// keeps `RUNDIR/times/process-NNN.json` up to date as its units commit (a killed process keeps the time up to its
/// last commit).
struct ProcessTimes: Sendable {
    let folder: URL
    let file: URL
    let started = Date()

    init(directory: RunDirectory) {
        folder = directory.url.appendingPathComponent("times")
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: folder.path))?.filter { $0.hasPrefix("process-") }.count ?? 0
        file = folder.appendingPathComponent(String(format: "process-%03d.json", existing))
    }

    /// Records this process's time so far (best effort: timing never fails a run).
    func record() {
        try? AtomicFile.write(Array(String(format: "%.3f\n", Date().timeIntervalSince(started)).utf8), to: file)
    }

    /// Every process's seconds, this one's up to now.
    func total() -> Double {
        record()
        return Self.recorded(in: folder)
    }

    /// The seconds recorded so far by every process of the run in `directory` (nothing is written).
    static func recorded(in directory: RunDirectory) -> Double { recorded(in: directory.url.appendingPathComponent("times")) }

    private static func recorded(in folder: URL) -> Double {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix("process-") }.reduce(0) { sum, name in
            let text = (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? ""
            return sum + (Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
        }
    }
}
