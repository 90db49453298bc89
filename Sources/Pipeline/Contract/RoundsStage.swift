/// A barrier that adds rounds of work (the paper's annotation lower bound: more variants for the categories below a
/// minimum). After every unit of its input has committed, it plans round 1: items that go through its round stages
/// (e.g. generate + label + confidence) as ordinary units, on all workers, each unit checkpointed under a stable
/// name (`<id>/round-001-batch-00000`). When a round's units have all committed it plans the next from everything so
/// far, until it plans no items. Its output is its input's items followed by each round's results, in round and
/// unit order, split into batches for the stages after it like any barrier's.
public protocol RoundsStage: Stage {
    /// The stages each round's items go through, in order, with the ids their seeds are derived from (a
    /// `FusedStage` runs fused with the stage before it).
    func roundStages() throws -> [(id: String, stage: any Stage)]
    /// The next round's items, given the input's items, the items planned for each earlier round and the results of
    /// all earlier rounds (in order). No items ends the rounds; the counters of that last call go to the report.
    func planRound(input: [DatasetItem], planned: [[DatasetItem]], results: [DatasetItem], context: StageContext) throws -> UnitOutput
}

extension RoundsStage {
    /// The rounds run as their own units; called directly, a rounds stage passes its input on unchanged.
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput { UnitOutput(items: input.items) }
}
