import Datasets

/// The stage every run starts with: reads the input dataset (the pipeline's `source:` block) into items. It runs
/// once per run; the runner splits its items into batches.
public protocol SourceStage: Stage {
    func load(context: StageContext) throws -> SourceOutput
    /// The per-item files whose size and modification time are hashed, so `resume` notices changed images.
    func itemFiles(_ items: [DatasetItem]) -> [String]
}

extension SourceStage {
    /// A source reads no items: `process` is `load`, for callers that treat every stage alike.
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        let loaded = try load(context: context)
        return UnitOutput(items: loaded.items, dropped: loaded.dropped, issues: loaded.issues)
    }
}

/// The loaded source: the dataset's description and its images as items, in file order, with what was skipped.
public struct SourceOutput: Sendable {
    public var meta: DatasetMeta
    public var items: [DatasetItem]
    public var issues: [LoadIssue]
    public var dropped: [DroppedItem]
    /// A shard's source (`ShardableSourceConfig`): each item's position in the unsharded source's order, so
    /// `dataengine merge` can put the shards' outputs back in the order of one run. Nil when not sharded.
    public var positions: [Int]?

    public init(meta: DatasetMeta, items: [DatasetItem], issues: [LoadIssue] = [], dropped: [DroppedItem] = [], positions: [Int]? = nil) {
        self.meta = meta
        self.items = items
        self.issues = issues
        self.dropped = dropped
        self.positions = positions
    }
}
