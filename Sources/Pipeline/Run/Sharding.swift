import Foundation
import Support

/// One machine's share of a run: the source items whose position (after `limit`) is `index` modulo `count`.
public struct ShardSpec: Codable, Hashable, Sendable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, (0..<count).contains(index) else {
            throw PipelineError(message: "shard \(index) of \(count) does not exist", hint: "shards are numbered 0 ... count-1")
        }
        self.index = index
        self.count = count
    }

    /// "i/n".
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw PipelineError(message: "`\(text)` is not a shard", hint: "write i/n, e.g. 3/10 for the fourth of ten machines, or `auto`")
        }
        try self.init(index: i, count: n)
    }

    /// From the cluster's own variables: the index from `SLURM_ARRAY_TASK_ID` or Kubernetes' `JOB_COMPLETION_INDEX`,
    /// the count from `count` (`--shard-count`) or `DATAENGINE_SHARD_COUNT`. (`SLURM_ARRAY_TASK_COUNT` is not used: it
    /// is 1 when a single index is resubmitted.)
    public static func fromEnvironment(count: Int?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ShardSpec {
        guard let text = environment["SLURM_ARRAY_TASK_ID"] ?? environment["JOB_COMPLETION_INDEX"] else {
            throw PipelineError(message: "--shard auto found neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX",
                                hint: "run it as a Slurm array task or a Kubernetes Indexed Job, or give --shard i/n")
        }
        guard let index = Int(text) else {
            throw PipelineError(message: "the shard index `\(text)` from the environment is not a number", hint: "check the job's environment")
        }
        guard let total = count ?? environment["DATAENGINE_SHARD_COUNT"].flatMap({ Int($0) }) else {
            throw PipelineError(message: "--shard auto needs the number of shards",
                                hint: "give --shard-count N or set DATAENGINE_SHARD_COUNT (the array's size, or the Job's completions)")
        }
        return try ShardSpec(index: index, count: total)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard's run directory under a run root: `shard-00003-of-00010`.
    public var directoryName: String { String(format: "shard-%05d-of-%05d", index, count) }
}

/// A source config that can be split over machines (`SourceConfig.shard`). Its stage's `SourceOutput.positions`
/// must give each item's position in the unsharded order, which `dataengine merge` restores.
public protocol ShardableSourceConfig: StageConfig {
    func sharded(_ shard: ShardSpec) -> Self
}

extension ResolvedPlan {
    /// The plan with its source limited to `shard`; refused for sources that cannot be sharded.
    public func sharded(_ shard: ShardSpec) throws -> ResolvedPlan {
        guard let source = source as? any ShardableSourceConfig else {
            throw PipelineError(message: "the source `\(sourceKind.name)` cannot be split into shards", hint: "run it on one machine")
        }
        var copy = self
        copy.source = Self.shard(source, shard)
        return copy
    }

    private static func shard<S: ShardableSourceConfig>(_ source: S, _ shard: ShardSpec) -> any StageConfig { source.sharded(shard) }
}

/// `RUNROOT/shards.json`: the shard count and the plan every shard of a run root must share. The first task
/// writes it; a task with another count or plan is refused.
public struct ShardRoot: Codable, Equatable, Sendable {
    public var count: Int
    /// Hash of the resolved plan without the shard.
    public var plan: String

    public init(count: Int, plan: ResolvedPlan) throws {
        var hash = ContentHash()
        hash.update(try plan.canonicalJSON())
        self.count = count
        self.plan = hash.hex
    }

    /// Records this root at `root/shards.json`, or checks it against the one there.
    public func register(at root: URL) throws {
        let file = root.appendingPathComponent("shards.json")
        try AtomicFile.makeDirectories(root.path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let bytes = Array(try encoder.encode(self)) + [10]
        // Write a private copy, then link it into place: link fails if another task got there first.
        let mine = root.appendingPathComponent(".shards-\(getpid())-\(UUID().uuidString).json")
        try AtomicFile.write(bytes, to: mine)
        defer { unlink(mine.path) }
        if link(mine.path, file.path) == 0 { return }
        guard let data = FileManager.default.contents(atPath: file.path), let existing = try? JSONDecoder().decode(ShardRoot.self, from: data) else {
            throw PipelineError(message: "\(file.path) cannot be read", hint: "it belongs to the run root; restore it or use another --run-root")
        }
        if existing.count != count {
            throw PipelineError(message: "\(root.path) holds a run of \(existing.count) shards; this task says \(count)",
                                hint: "use the same --shard-count (or DATAENGINE_SHARD_COUNT) for every task, or another --run-root")
        }
        if existing.plan != plan {
            throw PipelineError(message: "\(root.path) holds shards of another pipeline (the resolved plan differs)",
                                hint: "every task of a run root must run the same pipeline file; use another --run-root for this one")
        }
    }
}

/// A shard reached a rounds stage (quota) whose next round `merge` plans from every shard: it stops here, all its
/// earlier units committed, and continues when run again after that merge.
public struct WaitingForRoundPlan: Error, CustomStringConvertible {
    public var runDirectory: String
    public var stage: String
    public var round: Int

    public var description: String {
        "\(runDirectory): stage `\(stage)` waits for round \(round), which `dataengine merge` plans from every shard once all of them got here; then run the shards again"
    }
}

/// `merge` planned the next round of a rounds stage instead of merging: the shards must run again (exit 3).
public struct RoundPlanned: Error, CustomStringConvertible {
    public var runRoot: String
    public var stage: String
    public var round: Int
    public var items: Int

    public var description: String {
        "round \(round) of stage `\(stage)` is planned (\(items) references get one more variant\(items == 0 ? ": the rounds end" : "")): run every shard again (finished shards return at once), then merge \(runRoot) again"
    }
}
