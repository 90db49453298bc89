import Foundation
import Datasets
import Support

/// `dataengine merge RUNROOT --out DIR`: the finished shards of a run root written as one run's `output/`,
/// byte for byte what the unsharded run writes. The shards' sink units are put back in the unsharded order
/// (each item by the source position of the reference it came from; stages keep their input's order), regrouped
/// into the unsharded run's units, placed by each sink's `relocate` (images hard-linked) and finalized by the
/// sink itself. Built in `DIR.merging` and renamed into place, so a merge killed half-way and run again gives
/// the same bytes.
public struct ShardMerge: Sendable {
    public struct Summary: Sendable {
        public var shards: Int
        public var sourceItems: Int
        public var outputs: [String: SinkSummary]
        public var seconds: Double
    }

    /// The record of the last merge, `RUNROOT/merge.json`: a merge may replace only a folder it wrote itself.
    struct Record: Codable {
        var out: String
    }

    let inventory: ShardInventory
    let catalog: StageCatalog

    public init(inventory: ShardInventory, catalog: StageCatalog) {
        self.inventory = inventory
        self.catalog = catalog
    }

    /// Checks the shards and merges them into `out`.
    public static func run(runRoot: URL, out: URL, catalog: StageCatalog) throws -> Summary {
        let inventory = try ShardInventory(root: runRoot, catalog: catalog)
        let problems = inventory.problems()
        guard problems.isEmpty else {
            throw PipelineError(message: "cannot merge \(runRoot.path): " + problems.joined(separator: "; "),
                                hint: "run or resume the shards named (a missing or unfinished one: submit its index again; a different one: it belongs to another run root), then merge again")
        }
        return try ShardMerge(inventory: inventory, catalog: catalog).write(to: out)
    }

    /// One shard's committed state, read for merging.
    struct ShardState {
        var plan: ResolvedPlan
        var summary: LoadSummary
        var sourceItems: [DatasetItem]
        /// Each sink's committed unit outputs, by the sink's stage id.
        var sinkUnits: [String: [UnitOutput]]
    }

    func write(to out: URL) throws -> Summary {
        let started = Date()
        let out = out.standardizedFileURL
        try refuseForeignOutput(out)
        let graph = try ExecutionGraph(plan: inventory.shards[0].plan ?? { throw PipelineError(message: "shard 0 has no readable plan") }())
        if let barrier = graph.segments.first(where: { $0.isBarrier }) {
            throw PipelineError(message: "cannot merge: the pipeline has the barrier stage `\(barrier.head)`, whose plan depends on every shard's items",
                                hint: "merging shards of pipelines with a quota stage is not built yet; run such a pipeline on one machine")
        }
        let sinks = graph.segments.filter(\.isSink).map(\.tail)
        let states = try Self.parallelMap(inventory.shards) { try load($0, sinks: sinks) }
        let plan = states[0].plan
        // The unsharded source order: every shard's items by their recorded positions.
        var placed: [(position: Int, item: DatasetItem)] = []
        for (state, shard) in zip(states, inventory.shards) {
            guard let positions = state.summary.positions, positions.count == state.sourceItems.count else {
                throw PipelineError(message: "shard \(shard.spec) did not record its items' source positions (\(shard.directory.path))",
                                    hint: "its source stage must set SourceOutput.positions; rerun the shard with this version of dataengine")
            }
            placed += zip(positions, state.sourceItems).map { ($0, $1) }
        }
        placed.sort { $0.position < $1.position }
        let sourceItems = placed.map(\.item)
        var rank: [Int: Int] = [:]
        rank.reserveCapacity(sourceItems.count)
        for (k, item) in sourceItems.enumerated() {
            guard rank.updateValue(k, forKey: item.image.id) == nil else {
                throw PipelineError(message: "image id \(item.image.id) is in more than one shard", hint: "the shards must come from one source; run them again into a fresh run root")
            }
        }
        let batchSize = plan.batchSize
        let batchCount = (sourceItems.count + batchSize - 1) / batchSize

        let staging = URL(fileURLWithPath: out.path + ".merging")
        try? FileManager.default.removeItem(at: staging)
        try AtomicFile.makeDirectories(staging.path)
        var outputs: [String: SinkSummary] = [:]
        // One sync of the staging folder before it is renamed into place, not one per file.
        try AtomicFile.writingUnsynced(under: staging.path) {
        for segment in graph.segments where segment.isSink {
            guard let sink = segment.stages.last as? any SinkStage else { continue }
            let units = try regroup(segment: segment, states: states, rank: rank, batchSize: batchSize, batchCount: batchCount)
            let folder = staging.appendingPathComponent(segment.tail)
            try AtomicFile.makeDirectories(folder.path)
            let meta = states[0].summary.meta
            func context(_ unit: Int) -> StageContext {
                StageContext(runSeed: plan.seed, stageId: segment.tail, meta: meta, unitIndex: unit, outputDirectory: folder)
            }
            let relocated = try units.enumerated().map { try sink.relocate($1, context: context($0)) }
            outputs[segment.tail] = try sink.finalize(relocated, reference: [UnitOutput(items: sourceItems)], context: context(0))
        }
        }
        try install(staging, at: out)
        for (stage, summary) in outputs {
            outputs[stage]?.outputs = summary.outputs.mapValues { $0.hasPrefix(staging.path) ? out.path + $0.dropFirst(staging.path.count) : $0 }
        }
        return Summary(shards: inventory.count, sourceItems: sourceItems.count, outputs: outputs, seconds: Date().timeIntervalSince(started))
    }

    func load(_ shard: ShardInventory.Shard, sinks: [String]) throws -> ShardState {
        guard let plan = shard.plan else { throw PipelineError(message: "shard \(shard.spec) has no readable plan") }
        let checkpoints = Checkpoints(root: shard.directory.checkpoints, runRoot: shard.directory.url.path)
        let summary = try checkpoints.load(LoadSummary.self, stage: ResolvedPlan.sourceId, unit: "summary")
        let items = try (0..<summary.batches).flatMap {
            try checkpoints.load(UnitOutput.self, stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName($0)).items
        }
        var sinkUnits: [String: [UnitOutput]] = [:]
        for sink in sinks {
            sinkUnits[sink] = try (0..<summary.batches).map {
                try checkpoints.load(UnitRecord.self, stage: sink, unit: Checkpoints.batchName($0)).outputs[sink] ?? UnitOutput()
            }
        }
        return ShardState(plan: plan, summary: summary, sourceItems: items, sinkUnits: sinkUnits)
    }

    /// `transform` of every element, on all cores (reading and decoding checkpoints is most of a merge).
    static func parallelMap<T: Sendable, R>(_ elements: [T], _ transform: @Sendable (T) throws -> R) throws -> [R] {
        var results = [Result<R, Error>?](repeating: nil, count: elements.count)
        results.withUnsafeMutableBufferPointer { buffer in
            let slots = DisjointSlots(buffer)
            DispatchQueue.concurrentPerform(iterations: elements.count) { k in
                slots[k] = Result { try transform(elements[k]) }
            }
        }
        return try results.map { try $0!.get() }
    }

    /// A sink segment's committed units of every shard, as the unsharded run's units: unit k holds what came of
    /// the source items ranked k x batch ... (k + 1) x batch - 1, in their order.
    func regroup(segment: ExecutionGraph.Segment, states: [ShardState], rank: [Int: Int], batchSize: Int, batchCount: Int) throws -> [UnitOutput] {
        var slots = [[(rank: Int, sequence: Int, item: DatasetItem)]](repeating: [], count: batchCount)
        var units = [UnitOutput](repeating: UnitOutput(), count: batchCount)
        var sequence = 0
        for (state, shard) in zip(states, inventory.shards) {
            for output in state.sinkUnits[segment.tail] ?? [] {
                for item in output.items {
                    let origin = item.reference?.image.id ?? item.image.id
                    guard let r = rank[origin] else {
                        throw PipelineError(message: "shard \(shard.spec): \(item.label) comes from image \(origin), which no shard's source holds",
                                            hint: "the shard's run directory is damaged; run that shard again")
                    }
                    slots[r / batchSize].append((r, sequence, item))
                    sequence += 1
                }
                // What the writer reported per unit (renamed images) does not depend on the unit it sits in.
                units[0].issues += output.issues
                units[0].dropped += output.dropped
                for (name, n) in output.counters { units[0].count(name, n) }
            }
        }
        for k in 0..<batchCount {
            units[k].items = slots[k].sorted { ($0.rank, $0.sequence) < ($1.rank, $1.sequence) }.map(\.item)
        }
        return units
    }

    var recordFile: URL { inventory.root.appendingPathComponent("merge.json") }

    /// An existing `out` is replaced only when this run root's last merge wrote it.
    func refuseForeignOutput(_ out: URL) throws {
        guard FileManager.default.fileExists(atPath: out.path) else { return }
        let record = FileManager.default.contents(atPath: recordFile.path).flatMap { try? JSONDecoder().decode(Record.self, from: $0) }
        guard record?.out == out.path else {
            throw PipelineError(message: "\(out.path) already exists and was not written by a merge of \(inventory.root.path)",
                                hint: "give --out a new folder (or delete that one)")
        }
    }

    /// Puts the finished staging folder at `out`, replacing this run root's earlier merge there.
    func install(_ staging: URL, at out: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try AtomicFile.write(Array(try encoder.encode(Record(out: out.path))) + [10], to: recordFile)
        let replaced = URL(fileURLWithPath: out.path + ".replaced")
        try? FileManager.default.removeItem(at: replaced)
        if FileManager.default.fileExists(atPath: out.path) {
            guard rename(out.path, replaced.path) == 0 else { throw AtomicFile.WriteError(path: out.path, operation: "rename to \(replaced.path)", code: errno) }
        }
        guard rename(staging.path, out.path) == 0 else { throw AtomicFile.WriteError(path: staging.path, operation: "rename to \(out.path)", code: errno) }
        AtomicFile.syncDirectory(out.deletingLastPathComponent().path)
        try? FileManager.default.removeItem(at: replaced)
    }
}
