import Foundation
import Logging

extension PipelineRun {
    /// The plan a run directory runs, from its own copy of the pipeline file (parsed as if at its original path,
    /// so relative paths resolve the same): the plan with its shard, the plan without it, and the shard.
    static func storedPlan(_ directory: RunDirectory, catalog: StageCatalog) throws -> (plan: ResolvedPlan, unsharded: ResolvedPlan, shard: ShardSpec?) {
        let origin: RunOrigin = try decodeJSON(RunOrigin.self, from: directory.originFile)
        let text = try String(contentsOfFile: directory.pipelineCopy.path, encoding: .utf8)
        let defaultName = URL(fileURLWithPath: origin.pipelinePath).deletingPathExtension().lastPathComponent
        let unsharded = ResolvedPlan(try PipelineFile.parse(text, file: origin.pipelinePath, defaultName: defaultName, catalog: catalog))
        let plan = try origin.shard.map { try unsharded.sharded($0) } ?? unsharded
        return (plan, unsharded, origin.shard)
    }

    /// How far a run directory got, read without locking or writing anything: units done of those known so far
    /// (more become known as the load and barriers commit), source items, images its sinks wrote (once
    /// finished), and when a unit last committed.
    static func progress(of directory: RunDirectory, plan: ResolvedPlan)
        -> (done: Int, known: Int, items: Int?, imagesWritten: Int, lastChange: Date?, awaited: (stage: String, round: Int)?) {
        guard let run = try? PipelineRun(plan: plan, directory: directory, logger: Logger(label: "status"), options: Options(workers: 1)),
              (try? run.scanCommitted()) != nil else { return (0, 0, nil, 0, nil, nil) }
        // A shard waiting for a round that `merge` has not planned yet.
        var awaited: (stage: String, round: Int)?
        if let shared = run.sharedRoundPlans() {
            for segment in run.graph.segments {
                if let round = run.awaitedRound(segment.index), !shared.isCommitted(stage: segment.tail, unit: roundName(round, "plan")) {
                    awaited = (segment.head, round)
                    break
                }
            }
        }
        let known = run.allTasksKnown()
        let done = known.filter(run.done.contains).count
        let report = try? decodeJSON(RunReport.self, from: directory.reportJSON)
        let images = report?.outputs.values.reduce(0) { $0 + $1.images } ?? 0
        let times = directory.url.appendingPathComponent("times")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: times.path)) ?? []
        let lastChange = names.compactMap { name in
            (try? FileManager.default.attributesOfItem(atPath: times.appendingPathComponent(name).path))?[.modificationDate] as? Date
        }.max()
        return (done, known.count, run.loadSummary?.items, images, lastChange, awaited)
    }
}
