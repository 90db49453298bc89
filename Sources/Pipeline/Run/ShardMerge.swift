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
        /// Where the time went, in order: "checking shards", "reading checkpoints", "placing units (coco)", "finalizing (coco)", ..., "installing".
        public var phases: [(name: String, seconds: Double)]
    }

    /// The record of the last merge, `RUNROOT/merge.json`: a merge may replace only a folder it wrote itself.
    struct Record: Codable {
        var out: String
    }

    let inventory: ShardInventory
    let catalog: StageCatalog

    /// The unsharded source order: every shard's source items by their recorded positions, and each image's rank.
    struct SourceOrder {
        var items: [DatasetItem]
        var ranks: [Int: Int]

        init(states: [ShardState], shards: [ShardInventory.Shard]) throws {
            var placed: [(position: Int, item: DatasetItem)] = []
            for (state, shard) in zip(states, shards) {
                guard let positions = state.summary.positions, positions.count == state.sourceItems.count else {
                    throw PipelineError(message: "shard \(shard.spec) did not record its items' source positions (\(shard.directory.path))",
                                        hint: "its source stage must set SourceOutput.positions; rerun the shard with this version of dataengine")
                }
                placed += zip(positions, state.sourceItems).map { ($0, $1) }
            }
            placed.sort { $0.position < $1.position }
            items = placed.map(\.item)
            ranks = [:]
            ranks.reserveCapacity(items.count)
            for (k, item) in items.enumerated() {
                guard ranks.updateValue(k, forKey: item.image.id) == nil else {
                    throw PipelineError(message: "image id \(item.image.id) is in more than one shard", hint: "the shards must come from one source; run them again into a fresh run root")
                }
            }
        }

        /// The rank of the source item an item came from (itself, or the reference it was generated from).
        func rank(of item: DatasetItem) -> Int? { ranks[item.reference?.image.id ?? item.image.id] }
    }

    public init(inventory: ShardInventory, catalog: StageCatalog) {
        self.inventory = inventory
        self.catalog = catalog
    }

    /// Checks the shards and merges them into `out`; or, when every shard waits for the next round of a rounds
    /// stage (quota), plans that round from all of them and throws `RoundPlanned` (the shards run again).
    public static func run(runRoot: URL, out: URL, catalog: StageCatalog) throws -> Summary {
        let started = Date()
        let inventory = try ShardInventory(root: runRoot, catalog: catalog)
        let checking = Date().timeIntervalSince(started)
        let merge = ShardMerge(inventory: inventory, catalog: catalog)
        if let awaited = inventory.awaitedRound {
            let items = try merge.planRound(stage: awaited.stage, round: awaited.round)
            throw RoundPlanned(runRoot: runRoot.path, stage: awaited.stage, round: awaited.round, items: items)
        }
        let problems = inventory.problems()
        guard problems.isEmpty else {
            throw PipelineError(message: "cannot merge \(runRoot.path): " + problems.joined(separator: "; "),
                                hint: "run or resume the shards named (a missing or unfinished one: submit its index again; a different one: it belongs to another run root), then merge again")
        }
        var summary = try merge.write(to: out)
        summary.phases.insert(("checking shards", checking), at: 0)
        summary.seconds += checking
        return summary
    }

    /// One shard's committed state, read for merging.
    struct ShardState: Sendable {
        var summary: LoadSummary
        var sourceItems: [DatasetItem]
        /// The committed unit outputs of the segments asked for, by the segment's last stage id.
        var units: [String: [UnitOutput]]
        /// A rounds segment's rounds as this shard ran them: its part of each round's plan and what it kept.
        var rounds: [(planned: [DatasetItem], results: [UnitOutput])]
    }

    /// The run's shape, read from shard 0's plan: its segments and at most one rounds stage (no other barrier).
    struct Shape {
        var plan: ResolvedPlan
        var graph: ExecutionGraph
        var rounds: ExecutionGraph.Segment?
    }

    func shape() throws -> Shape {
        guard let plan = inventory.shards.first?.plan else { throw PipelineError(message: "shard 0 has no readable plan") }
        let graph = try ExecutionGraph(plan: plan)
        let barriers = graph.segments.filter(\.isBarrier)
        if let other = barriers.first(where: { !$0.isRounds }) ?? (barriers.count > 1 ? barriers[1] : nil) {
            throw PipelineError(message: "cannot merge: the pipeline has the barrier stage `\(other.head)`, whose plan depends on every shard's items",
                                hint: "shards merge with at most one rounds stage (quota) and no other barrier; run this pipeline on one machine")
        }
        return Shape(plan: plan, graph: graph, rounds: barriers.first)
    }

    /// The shared plan of `round` of the rounds stage `stage`, from every shard's input and earlier rounds, written
    /// to `RUNROOT/rounds/`, where the shards read their part of it. Returns how many items it planned.
    func planRound(stage: String, round: Int) throws -> Int {
        let shape = try shape()
        guard let segment = shape.rounds, segment.head == stage, let rounds = segment.stages[0] as? any RoundsStage else {
            throw PipelineError(message: "the shards wait for stage `\(stage)`, which is not the pipeline's rounds stage")
        }
        let states = try loadAll(shape)
        let order = try SourceOrder(states: states, shards: inventory.shards)
        let input = try roundsInput(segment, shape: shape, states: states, order: order)
        let shared = sharedRounds
        let planned = try (1..<round).map { try shared.load(UnitRecord.self, stage: segment.tail, unit: PipelineRun.roundName($0, "plan")).outputs[segment.tail]?.items ?? [] }
        let results = try roundResults(states: states, planned: planned, segment: segment)
        let meta = states[0].summary.meta
        let next = try rounds.planRound(input: input, planned: planned, results: results.flatMap { $0 },
                                        context: StageContext(runSeed: shape.plan.seed, stageId: segment.head, meta: meta, unitIndex: 0, outputDirectory: nil))
        try shared.save(UnitRecord(outputs: [segment.tail: next]), stage: segment.tail, unit: PipelineRun.roundName(round, "plan"))
        return next.items.count
    }

    /// Where `merge` keeps the shared round plans: `RUNROOT/rounds/<stage>/round-NNN-plan.json.zst`.
    var sharedRounds: Checkpoints { Checkpoints(root: inventory.root.appendingPathComponent("rounds")) }

    func write(to out: URL) throws -> Summary {
        let started = Date()
        let out = out.standardizedFileURL
        try refuseForeignOutput(out)
        let shape = try shape()
        let plan = shape.plan
        var phases: [(name: String, seconds: Double)] = []
        var phaseStart = Date()
        func endPhase(_ name: String) {
            phases.append((name, Date().timeIntervalSince(phaseStart)))
            phaseStart = Date()
        }
        let batchSize = plan.batchSize
        let sinks = shape.graph.segments.filter(\.isSink)
        var splices: [String: (inputs: [SpliceInput], order: SpliceOrder)] = [:]
        if shape.rounds == nil {
            for segment in sinks where segment.stages.last is any SplicingSink {
                splices[segment.tail] = spliceOrder(stage: segment.tail, batchSize: batchSize)
            }
            endPhase("ordering")
        }
        // What placing units needs (every shard's checkpoints), read only when a sink is not spliced.
        var placing: Placing?
        func placingState() throws -> Placing {
            if let placing { return placing }
            let made = try Placing(merge: self, shape: shape)
            endPhase("reading checkpoints")
            placing = made
            return made
        }

        let staging = URL(fileURLWithPath: out.path + ".merging")
        try? FileManager.default.removeItem(at: staging)
        try AtomicFile.makeDirectories(staging.path)
        var outputs: [String: SinkSummary] = [:]
        var sourceItems = splices.values.first?.order.sourceItems
        let meta = try sourceMeta()
        // One sync of the staging folder before it is renamed into place, not one per file.
        try AtomicFile.writingUnsynced(under: staging.path) {
            for segment in sinks {
                guard let sink = segment.stages.last as? any SinkStage else { continue }
                let folder = staging.appendingPathComponent(segment.tail)
                try AtomicFile.makeDirectories(folder.path)
                @Sendable func context(_ unit: Int) -> StageContext {
                    StageContext(runSeed: plan.seed, stageId: segment.tail, meta: meta, unitIndex: unit, outputDirectory: folder)
                }
                if let splicing = sink as? any SplicingSink, let splice = splices[segment.tail],
                   let summary = try splicing.splice(splice.inputs, order: splice.order, context: context(0)) {
                    outputs[segment.tail] = summary
                    endPhase("splicing (\(segment.tail))")
                    continue
                }
                // Not spliced: whatever a refused splice left is removed, and the units are placed one by one.
                try? FileManager.default.removeItem(at: folder)
                try AtomicFile.makeDirectories(folder.path)
                let state = try placingState()
                sourceItems = state.order.items.count
                let afterRounds = shape.rounds.map { isDownstream(segment, of: $0, in: shape.graph) } ?? false
                let units: [UnitOutput]
                if afterRounds, let barrierPosition = state.barrierPosition {
                    units = try regroup(segment.tail, states: state.states, count: state.barrierCount, batchSize: batchSize) { item in barrierPosition[item.image.id] }
                } else {
                    units = try regroup(segment.tail, states: state.states, count: state.order.items.count, batchSize: batchSize) { item in state.order.rank(of: item) }
                }
                endPhase("ordering (\(segment.tail))")
                let unsynced = AtomicFile.isUnsynced
                let relocated = try Self.parallelMap(Array(units.indices)) { k in
                    try AtomicFile.continuing(unsynced: unsynced) { try sink.relocate(units[k], context: context(k)) }
                }
                endPhase("placing \(units.count) units (\(segment.tail))")
                outputs[segment.tail] = try sink.finalize(relocated, reference: [UnitOutput(items: state.order.items)], context: context(0))
                endPhase("finalizing (\(segment.tail))")
            }
        }
        endPhase("syncing")
        try install(staging, at: out)
        endPhase("installing")
        for (stage, summary) in outputs {
            outputs[stage]?.outputs = summary.outputs.mapValues { $0.hasPrefix(staging.path) ? out.path + $0.dropFirst(staging.path.count) : $0 }
        }
        return Summary(shards: inventory.count, sourceItems: try sourceItems ?? placingState().order.items.count, outputs: outputs,
                       seconds: Date().timeIntervalSince(started), phases: phases)
    }

    /// The source's description (categories, info, licenses) as shard 0 loaded it; every shard loaded the same.
    func sourceMeta() throws -> DatasetMeta {
        let shard = inventory.shards[0].directory
        return try Checkpoints(root: shard.checkpoints, runRoot: shard.url.path).load(LoadSummary.self, stage: ResolvedPlan.sourceId, unit: "summary").meta
    }

    /// Every shard's committed units and the unsharded order of their items, for placing units one by one.
    struct Placing {
        var states: [ShardState]
        var order: SourceOrder
        /// With a rounds stage, the sinks after it read its output: its input's items in the unsharded order,
        /// then each round's results in the order of the round's shared plan.
        var barrierPosition: [Int: Int]?
        var barrierCount = 0

        init(merge: ShardMerge, shape: Shape) throws {
            states = try merge.loadAll(shape)
            order = try SourceOrder(states: states, shards: merge.inventory.shards)
            if let rounds = shape.rounds {
                let planned = try merge.sharedPlans(rounds)
                let output = try merge.roundsInput(rounds, shape: shape, states: states, order: order)
                    + merge.roundResults(states: states, planned: planned, segment: rounds).joined()
                barrierCount = output.count
                var positions: [Int: Int] = [:]
                for (k, item) in output.enumerated() { positions[item.image.id] = k }
                barrierPosition = positions
            }
        }
    }

    func isDownstream(_ segment: ExecutionGraph.Segment, of barrier: ExecutionGraph.Segment, in graph: ExecutionGraph) -> Bool {
        var current = segment.input
        while let s = current {
            if s == barrier.index { return true }
            current = graph.segments[s].input
        }
        return false
    }

    /// The shared plans of every round, in order (the last one planned no items).
    func sharedPlans(_ segment: ExecutionGraph.Segment) throws -> [[DatasetItem]] {
        var plans: [[DatasetItem]] = []
        while sharedRounds.isCommitted(stage: segment.tail, unit: PipelineRun.roundName(plans.count + 1, "plan")) {
            let items = try sharedRounds.load(UnitRecord.self, stage: segment.tail, unit: PipelineRun.roundName(plans.count + 1, "plan")).outputs[segment.tail]?.items ?? []
            plans.append(items)
            if items.isEmpty { break }
        }
        return plans
    }

    /// Every shard's items entering the rounds stage, in the unsharded order.
    func roundsInput(_ rounds: ExecutionGraph.Segment, shape: Shape, states: [ShardState], order: SourceOrder) throws -> [DatasetItem] {
        guard let input = rounds.input.map({ shape.graph.segments[$0].tail }) else { return order.items }
        return try sorted(states.flatMap { $0.units[input] ?? [] }.flatMap(\.items), by: { order.rank(of: $0) })
    }

    /// Each planned round's results from every shard, in the order of the shared plan (a reference's results in
    /// the order its shard kept them).
    func roundResults(states: [ShardState], planned: [[DatasetItem]], segment: ExecutionGraph.Segment) throws -> [[DatasetItem]] {
        try planned.enumerated().map { k, plan in
            var index: [Int: Int] = [:]
            for (i, item) in plan.enumerated() { index[item.image.id] = i }
            let results = states.flatMap { $0.rounds.count > k ? $0.rounds[k].results.flatMap(\.items) : [] }
            return try sorted(results, by: { $0.reference.flatMap { index[$0.image.id] } })
        }
    }

    /// `items` stably sorted by `key`; an item without a key is an error (a damaged shard).
    func sorted(_ items: [DatasetItem], by key: (DatasetItem) -> Int?) throws -> [DatasetItem] {
        var keyed: [(key: Int, sequence: Int, item: DatasetItem)] = []
        keyed.reserveCapacity(items.count)
        for (sequence, item) in items.enumerated() {
            guard let k = key(item) else {
                throw PipelineError(message: "\(item.label) cannot be placed: it comes from no item the shards hold", hint: "a shard's run directory is damaged; run that shard again")
            }
            keyed.append((k, sequence, item))
        }
        return keyed.sorted { ($0.key, $0.sequence) < ($1.key, $1.sequence) }.map(\.item)
    }

    func loadAll(_ shape: Shape) throws -> [ShardState] {
        var wanted = shape.graph.segments.filter(\.isSink).map(\.tail)
        if let input = shape.rounds?.input { wanted.append(shape.graph.segments[input].tail) }
        let lastRoundStage = try (shape.rounds?.stages[0] as? any RoundsStage)?.roundStages().last?.id
        let segments = wanted
        return try Self.parallelMap(inventory.shards) { try load($0, segments: segments, rounds: shape.rounds?.tail, lastRoundStage: lastRoundStage) }
    }

    func load(_ shard: ShardInventory.Shard, segments: [String], rounds: String?, lastRoundStage: String?) throws -> ShardState {
        let checkpoints = Checkpoints(root: shard.directory.checkpoints, runRoot: shard.directory.url.path)
        let summary = try checkpoints.load(LoadSummary.self, stage: ResolvedPlan.sourceId, unit: "summary")
        let items = try (0..<summary.batches).flatMap {
            try checkpoints.load(UnitOutput.self, stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName($0)).items
        }
        var units: [String: [UnitOutput]] = [:]
        for stage in segments {
            units[stage] = try (0..<Self.committedBatches(checkpoints, stage: stage)).map {
                try checkpoints.load(UnitRecord.self, stage: stage, unit: Checkpoints.batchName($0)).outputs[stage] ?? UnitOutput()
            }
        }
        var roundsRun: [(planned: [DatasetItem], results: [UnitOutput])] = []
        if let rounds, let lastRoundStage {
            var round = 1
            while checkpoints.isCommitted(stage: rounds, unit: PipelineRun.roundName(round, "plan")) {
                let planned = try checkpoints.load(UnitRecord.self, stage: rounds, unit: PipelineRun.roundName(round, "plan")).outputs[rounds]?.items ?? []
                var results: [UnitOutput] = []
                var batch = 0
                while checkpoints.isCommitted(stage: rounds, unit: PipelineRun.roundName(round, Checkpoints.batchName(batch))) {
                    results.append(try checkpoints.load(UnitRecord.self, stage: rounds, unit: PipelineRun.roundName(round, Checkpoints.batchName(batch))).outputs[lastRoundStage] ?? UnitOutput())
                    batch += 1
                }
                roundsRun.append((planned, results))
                round += 1
            }
        }
        return ShardState(summary: summary, sourceItems: items, units: units, rounds: roundsRun)
    }

    /// How many units `batch-00000` … a stage committed.
    static func committedBatches(_ checkpoints: Checkpoints, stage: String) -> Int {
        var count = 0
        while checkpoints.isCommitted(stage: stage, unit: Checkpoints.batchName(count)) { count += 1 }
        return count
    }

    /// `transform` of every element, on all cores (reading checkpoints and placing units are most of a merge).
    static func parallelMap<T: Sendable, R>(_ elements: [T], _ transform: @Sendable (T) throws -> R) throws -> [R] {
        try Support.parallelMap(count: elements.count) { try transform(elements[$0]) }
    }

    /// A sink's committed units of every shard, as the unsharded run's units: unit k holds the items whose
    /// `position` (in the unsharded order of what the sink's units were cut from) is k x batch ... (k + 1) x batch
    /// - 1, in that order.
    func regroup(_ sink: String, states: [ShardState], count: Int, batchSize: Int, position: (DatasetItem) -> Int?) throws -> [UnitOutput] {
        let batchCount = (count + batchSize - 1) / batchSize
        guard batchCount > 0 else { return [] }  // nothing entered the sink's units (an unsharded run has none either)
        var units = [UnitOutput](repeating: UnitOutput(), count: batchCount)
        var all: [DatasetItem] = []
        for state in states {
            for output in state.units[sink] ?? [] {
                all += output.items
                // What the writer reported per unit (renamed images) does not depend on the unit it sits in.
                units[0].issues += output.issues
                units[0].dropped += output.dropped
                for (name, n) in output.counters { units[0].count(name, n) }
            }
        }
        for item in try sorted(all, by: position) {
            guard let p = position(item), p / batchSize < batchCount else {
                throw PipelineError(message: "\(item.label) of `\(sink)` has no place among the \(count) items of the unsharded run",
                                    hint: "a shard's run directory is damaged; run that shard again")
            }
            units[p / batchSize].items.append(item)
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
