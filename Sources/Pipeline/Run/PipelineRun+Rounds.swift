import Foundation

/// The rounds of a `RoundsStage` (quota): each round is a plan (`<id>/round-001-plan`) and ordinary units
/// (`<id>/round-001-batch-00000`) through the stage's round stages, on all workers; when a plan holds no items the
/// barrier commits the input's items followed by every round's results, as any barrier does.
extension PipelineRun {
    static func roundName(_ round: Int, _ part: String) -> String { String(format: "round-%03d-", round) + part }

    func roundsStage(_ segment: ExecutionGraph.Segment) throws -> any RoundsStage {
        guard let stage = segment.stages[0] as? any RoundsStage else {
            throw PipelineError(message: "stage `\(segment.head)` runs rounds but is not a RoundsStage", hint: "this is a bug")
        }
        return stage
    }

    func batches(ofRoundItems count: Int) -> Int { (count + plan.batchSize - 1) / plan.batchSize }

    /// Records the round plans and units earlier processes committed (`names`: the segment's checkpoint files).
    func scanRounds(_ segment: ExecutionGraph.Segment, names: Set<String>) throws {
        var counts: [Int] = []
        var round = 1
        while names.contains(Self.roundName(round, "plan") + ".json.zst") {
            let plan = try checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Self.roundName(round, "plan"))
            let count = plan.outputs[segment.tail]?.items.count ?? 0
            counts.append(count)
            done.insert(.roundPlan(segment: segment.index, round: round))
            for b in 0..<batches(ofRoundItems: count) where names.contains(Self.roundName(round, Checkpoints.batchName(b)) + ".json.zst") {
                done.insert(.roundUnit(segment: segment.index, round: round, batch: b))
            }
            if count == 0 { break }
            round += 1
        }
        roundCounts[segment.index] = counts
    }

    /// The next task of a rounds segment whose input is complete: a unit of the current round, the next round's
    /// plan once every unit of the current one committed, or the barrier once a plan came back empty. Lock held.
    func nextRoundTask(segment s: Int, excluding running: Set<RunTask>) -> RunTask? {
        let counts = roundCounts[s] ?? []
        for (k, count) in counts.enumerated() {
            if count == 0 {
                let task = RunTask.barrier(segment: s)
                return running.contains(task) ? nil : task
            }
            var roundDone = true
            for b in 0..<batches(ofRoundItems: count) {
                let task = RunTask.roundUnit(segment: s, round: k + 1, batch: b)
                if done.contains(task) { continue }
                roundDone = false
                if !running.contains(task) { return task }
            }
            if !roundDone { return nil }
        }
        let task = RunTask.roundPlan(segment: s, round: counts.count + 1)
        if let sharedRounds, !sharedRounds.isCommitted(stage: graph.segments[s].tail, unit: Self.roundName(counts.count + 1, "plan")) {
            awaitedRounds[s] = counts.count + 1  // `merge` plans it from every shard
            return nil
        }
        return running.contains(task) ? nil : task
    }

    /// `RUNROOT/rounds/` when this run is a shard of a run root (its origin names a shard and its folder sits
    /// beside `shards.json`).
    func sharedRoundPlans() -> Checkpoints? {
        guard let origin = try? decodeJSON(RunOrigin.self, from: directory.originFile), origin.shard != nil else { return nil }
        let root = directory.url.deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("shards.json").path) else { return nil }
        return Checkpoints(root: root.appendingPathComponent("rounds"))
    }

    /// The round a rounds segment waits for `merge` to plan, once everything before it committed (read after
    /// `scanCommitted`; nil when it is not waiting).
    func awaitedRound(_ s: Int) -> Int? {
        let segment = graph.segments[s]
        guard segment.isRounds, !done.contains(.barrier(segment: s)) else { return nil }
        guard segment.input.map(allUnitsDone) ?? done.contains(.load) else { return nil }
        let counts = roundCounts[s] ?? []
        guard counts.last != 0, roundTasksKnown(s).allSatisfy(done.contains) else { return nil }
        return counts.count + 1
    }

    func roundTasksKnown(_ s: Int) -> [RunTask] {
        (roundCounts[s] ?? []).enumerated().flatMap { k, count in
            [RunTask.roundPlan(segment: s, round: k + 1)] + (0..<batches(ofRoundItems: count)).map { RunTask.roundUnit(segment: s, round: k + 1, batch: $0) }
        }
    }

    /// Every item that entered the segment, in unit order.
    func inputItems(of segment: ExecutionGraph.Segment) throws -> [DatasetItem] {
        try (segment.input.map { try outputs(of: graph.segments[$0]) } ?? sourceOutputs()).flatMap(\.items)
    }

    func roundPlanItems(_ segment: ExecutionGraph.Segment, round: Int) throws -> UnitOutput {
        try checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Self.roundName(round, "plan")).outputs[segment.tail] ?? UnitOutput()
    }

    /// The items a round kept: its last round stage's output, unit by unit.
    func roundResults(_ segment: ExecutionGraph.Segment, round: Int, count: Int, lastStage: String) throws -> [DatasetItem] {
        try (0..<batches(ofRoundItems: count)).flatMap { b in
            try checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Self.roundName(round, Checkpoints.batchName(b))).outputs[lastStage]?.items ?? []
        }
    }

    /// What rounds 1..<round planned and kept.
    func history(_ segment: ExecutionGraph.Segment, before round: Int) throws -> (planned: [[DatasetItem]], results: [DatasetItem]) {
        guard let last = try roundsStage(segment).roundStages().last?.id else {
            throw StageError(stage: segment.head, message: "has no round stages")
        }
        var planned: [[DatasetItem]] = [], results: [DatasetItem] = []
        for r in 1..<round {
            let items = try roundPlanItems(segment, round: r).items
            planned.append(items)
            results += try roundResults(segment, round: r, count: items.count, lastStage: last)
        }
        return (planned, results)
    }

    func performRoundPlan(segment: ExecutionGraph.Segment, round: Int) throws {
        var next: UnitOutput
        if let sharedRounds {
            // A shard: the plan `merge` made from every shard, this shard's references only.
            next = try sharedRounds.load(UnitRecord.self, stage: segment.tail, unit: Self.roundName(round, "plan")).outputs[segment.tail] ?? UnitOutput()
            let mine = Set(try sourceOutputs().flatMap(\.items).map(\.image.id))
            next.items = next.items.filter { mine.contains($0.image.id) }
        } else {
            let (planned, results) = try history(segment, before: round)
            next = try roundsStage(segment).planRound(input: try inputItems(of: segment), planned: planned, results: results,
                                                      context: context(stage: segment.head, unit: 0))
        }
        try checkpoints.save(UnitRecord(outputs: [segment.tail: next]), stage: segment.tail, unit: Self.roundName(round, "plan"))
        stateLock.lock()
        var counts = roundCounts[segment.index] ?? []
        if counts.count == round - 1 { counts.append(next.items.count) }
        roundCounts[segment.index] = counts
        stateLock.unlock()
        logger.info("stage \(segment.head): round \(round) planned \(next.items.count) items")
    }

    func performRoundUnit(segment: ExecutionGraph.Segment, round: Int, batch: Int) throws {
        let items = try roundPlanItems(segment, round: round).items
        let size = plan.batchSize
        let slice = Array(items[(batch * size)..<min(items.count, (batch + 1) * size)])
        let stages = try roundsStage(segment).roundStages()
        let work = directory.work(of: segment.tail)
        let record = try Self.runChain(stages, input: UnitOutput(items: slice)) { id in
            // Seeds come from the round stage's own id (the variants it would have made); files go to the rounds
            // stage's work folder.
            var context = self.context(stage: id, unit: batch)
            context.workDirectory = work
            return context
        }
        try checkpoints.save(record, stage: segment.tail, unit: Self.roundName(round, Checkpoints.batchName(batch)))
    }

    /// The barrier's output once the rounds ended: the input's items, then every round's results; the counters of
    /// the last (empty) plan.
    func roundsOutput(_ segment: ExecutionGraph.Segment) throws -> UnitOutput {
        stateLock.lock()
        let rounds = (roundCounts[segment.index] ?? []).count
        stateLock.unlock()
        let (_, results) = try history(segment, before: rounds)
        var out = UnitOutput(items: try inputItems(of: segment) + results)
        out.counters = try roundPlanItems(segment, round: rounds).counters
        return out
    }
}
