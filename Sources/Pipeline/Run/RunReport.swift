import Foundation
import Datasets
import Support

/// The end of a run, for people (report.md, the summary printed) and programs (report.json): per stage
/// the items in and out, what was dropped and why, counters, input issues; the outputs; the wall time.
public struct RunReport: Codable, Sendable {
    public struct StageRow: Codable, Sendable {
        public var id: String
        public var kind: String
        public var itemsIn: Int
        public var itemsOut: Int
        public var dropped: [String: Int]
        public var counters: [String: Int]
        public var issues: [String: Int]
    }

    public var pipeline: String
    public var runDirectory: String
    public var wallSeconds: Double
    public var workers: Int
    public var stages: [StageRow]
    /// Problems in the input, first 200 of them with file and record.
    public var issueExamples: [LoadIssue]
    public var issueCount: Int
    public var droppedExamples: [DroppedItem]
    public var outputs: [String: SinkSummary]

    static func build(run: PipelineRun, wallSeconds: Double) throws -> RunReport {
        let summary = run.loadSummary!
        var rows: [StageRow] = []
        var issues = summary.issues
        var droppedAll = summary.dropped
        func tally(_ list: [DroppedItem]) -> [String: Int] { list.reduce(into: [:]) { $0[$1.reason, default: 0] += 1 } }
        func tally(_ list: [LoadIssue]) -> [String: Int] { list.reduce(into: [:]) { $0[$1.kind.rawValue, default: 0] += 1 } }
        rows.append(StageRow(id: ResolvedPlan.sourceId, kind: "load", itemsIn: summary.items + summary.dropped.count, itemsOut: summary.items,
                             dropped: tally(summary.dropped), counters: [:], issues: tally(summary.issues)))
        var itemsOutOf: [String: Int] = [ResolvedPlan.sourceId: summary.items]
        var outputs: [String: SinkSummary] = [:]
        for segment in run.graph.segments {
            var perStage: [String: (out: Int, dropped: [DroppedItem], counters: [String: Int], issues: [LoadIssue])] = [:]
            let units: [UnitRecord]
            if segment.isBarrier {
                let planRecord = try run.checkpoints.load(UnitRecord.self, stage: segment.tail, unit: "plan")
                let count = run.barrierBatches[segment.index] ?? 0
                var items = 0
                for b in 0..<count { items += try run.checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Checkpoints.batchName(b)).outputs[segment.tail]?.items.count ?? 0 }
                var record = planRecord
                record.outputs[segment.tail]?.items = []
                units = [record]
                perStage[segment.tail] = (items, [], [:], [])
            } else {
                let count = run.batchCount(segment.index) ?? 0
                units = try (0..<count).map { try run.checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Checkpoints.batchName($0)) }
            }
            for id in segment.stageIds {
                var entry = perStage[id] ?? (0, [], [:], [])
                for unit in units {
                    guard let output = unit.outputs[id] else { continue }
                    entry.dropped += output.dropped
                    entry.issues += output.issues
                    for (k, v) in output.counters { entry.counters[k, default: 0] += v }
                    if id == segment.tail && !segment.isBarrier { entry.out += output.items.count }
                }
                perStage[id] = entry
            }
            var previousOut = itemsOutOf[run.plan.stages.first { $0.id == segment.head }!.input] ?? 0
            for id in segment.stageIds {
                var entry = perStage[id]!
                // A fused intermediate stage's items are not stored, only how many it passed on.
                let passedOn = entry.counters.removeValue(forKey: PipelineRun.passedOnCounter)
                let out = id == segment.tail ? entry.out : passedOn ?? previousOut - entry.dropped.count
                let kind = run.plan.stages.first { $0.id == id }!.kind
                rows.append(StageRow(id: id, kind: kind, itemsIn: previousOut, itemsOut: out, dropped: tally(entry.dropped),
                                     counters: entry.counters, issues: tally(entry.issues)))
                issues += entry.issues
                droppedAll += entry.dropped
                itemsOutOf[id] = out
                previousOut = out
            }
            if segment.isSink {
                outputs[segment.tail] = try run.checkpoints.load(SinkSummary.self, stage: segment.tail, unit: "final")
            }
        }
        return RunReport(pipeline: run.plan.name, runDirectory: run.directory.path, wallSeconds: wallSeconds, workers: run.options.workers,
                         stages: rows, issueExamples: Array(issues.prefix(200)), issueCount: issues.count,
                         droppedExamples: Array(droppedAll.prefix(200)), outputs: outputs)
    }

    func write(to directory: RunDirectory) throws {
        try AtomicFile.write(try encodeJSON(self), to: directory.reportJSON)
        try AtomicFile.write(markdown(), to: directory.reportMarkdown)
    }

    public func markdown() -> String {
        var s = "# Run report: \(pipeline)\n\nRun directory: `\(runDirectory)`  \nWall time: \(String(format: "%.1f", wallSeconds)) s with \(workers) worker(s)\n\n"
        s += "## Stages\n\n| stage | kind | in | out | dropped (why) | counters |\n|---|---|---:|---:|---|---|\n"
        for row in stages {
            let dropped = row.dropped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            let counters = row.counters.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            s += "| \(row.id) | \(row.kind) | \(row.itemsIn) | \(row.itemsOut) | \(dropped) | \(counters) |\n"
        }
        s += "\n## Outputs\n\n"
        for (id, out) in outputs.sorted(by: { $0.key < $1.key }) {
            s += "- `\(id)`: \(out.images) images, \(out.annotations) boxes\n"
            for (k, v) in out.outputs.sorted(by: { $0.key < $1.key }) { s += "  - \(k): `\(v)`\n" }
            for problem in out.problems ?? [] { s += "  - problem: \(problem)\n" }
        }
        s += "\n## Input problems (\(issueCount))\n\n"
        if issueExamples.isEmpty { s += "None.\n" }
        for issue in issueExamples { s += "- \(issue.kind.rawValue): \(issue.file), \(issue.record): \(issue.message)\n" }
        if issueCount > issueExamples.count { s += "- … and \(issueCount - issueExamples.count) more (see report.json counts)\n" }
        return s
    }

    /// Why the run wrote no images at all, nil when an output has images (or the pipeline has no write stage): the
    /// first stage that passed nothing on, with what it dropped and why.
    public var nothingWritten: String? {
        guard !outputs.isEmpty, outputs.values.allSatisfy({ $0.images == 0 }) else { return nil }
        var why = "the run wrote no images"
        if let stage = stages.first(where: { $0.itemsOut == 0 }) {
            why += ": stage `\(stage.id)` (\(stage.kind)) passed on none of its \(stage.itemsIn) item(s)"
            let dropped = stage.dropped.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }
            if !dropped.isEmpty { why += " (dropped: " + dropped.joined(separator: ", ") + ")" }
            let issues = stage.issues.sorted { $0.value > $1.value }.map { "\($0.value) \($0.key)" }
            if !issues.isEmpty { why += "; input problems: " + issues.joined(separator: ", ") }
        }
        return why
    }

    /// A short summary for the terminal.
    public func summary() -> String {
        var s = "Done in \(String(format: "%.1f", wallSeconds)) s.\n"
        for row in stages {
            var line = "  \(row.id) (\(row.kind)): \(row.itemsIn) in, \(row.itemsOut) out"
            let dropped = row.dropped.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            if !dropped.isEmpty { line += "; dropped: " + dropped.joined(separator: ", ") }
            s += line + "\n"
        }
        if issueCount > 0 { s += "  \(issueCount) input problem(s) skipped or fixed; see report.md\n" }
        for (id, out) in outputs.sorted(by: { $0.key < $1.key }) {
            s += "Output `\(id)`: \(out.images) images, \(out.annotations) boxes\n"
            for (k, v) in out.outputs.sorted(by: { $0.key < $1.key }) { s += "  \(k): \(v)\n" }
            if let problems = out.problems { s += "  \(problems.count) problem(s) writing it; see report.md\n" }
        }
        s += "Report: \(runDirectory)/report.md\n"
        return s
    }
}
