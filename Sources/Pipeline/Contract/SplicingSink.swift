import Foundation

/// A sink whose shards `dataengine merge` can splice instead of placing unit by unit: in a shard's run, its
/// `finalize` also leaves in `context.spliceDirectory` what a merge needs (where each record of the files it
/// wrote lies, counts, statistics tallies), and `splice` builds the unsharded run's output from those parts and
/// the shards' output files, without reading the shards' checkpoints or encoding a record again. The result must
/// be byte for byte what `relocate` + `finalize` write. A sink that cannot splice a run (a setting it does not
/// support, parts missing, anything `finalize` would refuse) returns nil, and the merge places that sink's
/// units with `relocate` instead, which also reports the error.
public protocol SplicingSink: SinkStage {
    func splice(_ shards: [SpliceInput], order: SpliceOrder, context: StageContext) throws -> SinkSummary?
}

/// One shard of a splice: the sink's splice parts and its output folder in the shard's run directory.
public struct SpliceInput: Sendable {
    public var parts: URL
    public var output: URL

    public init(parts: URL, output: URL) {
        self.parts = parts
        self.output = output
    }
}

/// Where the shards' sink outputs go in the unsharded run, from the source positions the shards recorded.
public struct SpliceOrder: Sendable {
    /// The unsharded order of the sink's output items: (shard, index among that shard's output items).
    public var sequence: [(shard: Int, item: Int)]
    /// The unsharded run's unit of each shard's output items (the unit of the source item it came from).
    public var units: [[Int]]
    /// The run's source items, all shards together.
    public var sourceItems: Int

    public init(sequence: [(shard: Int, item: Int)], units: [[Int]], sourceItems: Int) {
        self.sequence = sequence
        self.units = units
        self.sourceItems = sourceItems
    }
}
