import Foundation
import Datasets
import Support

/// What every unit of a stage can see: the run's seed, the input dataset's description, the unit's identity
/// and, for stages that write, the folder they own. Stages never open run-directory files themselves.
public struct StageContext: Sendable {
    public var runSeed: UInt64
    public var stageId: String
    public var meta: DatasetMeta
    /// The unit's index among its stage's units (the shard number for a writer).
    public var unitIndex: Int
    /// For sinks: the folder this stage writes its dataset into (created by the pipeline).
    public var outputDirectory: URL?
    /// A folder this stage may keep intermediate files in (generated images before they are written), owned by
    /// the stage: `RUNDIR/work/<stage id>`. Files there must be named by item identity, so a rerun of a unit
    /// writes the same bytes to the same names.
    public var workDirectory: URL?
    /// Set when the user interrupts; long stages should check it between items.
    public var isCancelled: @Sendable () -> Bool
    /// The compute budget of one unit: how many threads it may keep busy (cores / workers), so that workers
    /// x threads never oversubscribe the machine. The engine sizes its BLAS and tensor threads from it.
    public var computeThreads: Int
    /// What the run's units share (model cache, timings): one set per run.
    public var resources: RunResources
    /// For a `SplicingSink`'s `finalize` in a shard's run: the folder to leave its splice parts in
    /// (`RUNDIR/splice/<stage id>`); nil otherwise.
    public var spliceDirectory: URL?

    public init(runSeed: UInt64, stageId: String, meta: DatasetMeta, unitIndex: Int, outputDirectory: URL?,
                computeThreads: Int = 1, workDirectory: URL? = nil, resources: RunResources = RunResources(),
                isCancelled: @escaping @Sendable () -> Bool = { false }) {
        self.resources = resources
        self.runSeed = runSeed
        self.workDirectory = workDirectory
        self.stageId = stageId
        self.meta = meta
        self.unitIndex = unitIndex
        self.outputDirectory = outputDirectory
        self.computeThreads = max(1, computeThreads)
        self.isCancelled = isCancelled
    }

    /// A random generator for one purpose, derived from the run seed, this stage and the given identity.
    public func random(_ parts: Int...) -> SeededRandom {
        SeededRandom(seed: SeededRandom.derive(runSeed: runSeed, stage: stageId, parts: parts))
    }

    /// A seed for one purpose (noise of one variant), derived like `random(_:)` but under another name, so it
    /// never repeats a stream `random` hands out.
    public func seed(_ purpose: String, _ parts: Int...) -> UInt64 {
        SeededRandom.derive(runSeed: runSeed, stage: stageId + "/" + purpose, parts: parts)
    }

    /// The work folder, or an error naming the stage (a pipeline always sets it; direct callers must too).
    public func requireWorkDirectory() throws -> URL {
        guard let workDirectory else {
            throw StageError(stage: stageId, message: "no work folder was given to the stage", hint: "set StageContext.workDirectory")
        }
        return workDirectory
    }
}

/// A stage: a function from the items of one unit to the items it passes on, plus the files it writes.
/// It must be deterministic in its input and `context` (same input => same output and same bytes written).
public protocol Stage: AnyObject, Sendable {
    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput
}

/// A stage that ends a branch by writing a dataset: after all its units, `finalize` sees every unit's
/// output in unit order and writes what spans them (the merged annotation file, statistics).
public protocol SinkStage: Stage {
    func finalize(_ units: [UnitOutput], reference: [UnitOutput], context: StageContext) throws -> SinkSummary
    /// Checks the loaded source for what this sink would refuse later (two images under one output name, class
    /// names the format cannot hold), so `validate` and the start of a run stop at once instead of after every
    /// unit has run. Throws `StageError` naming the records and the fix; returns notes for the user (what will
    /// be written differently), one line each.
    func checkBeforeRun(_ source: SourceOutput, context: StageContext) throws -> [String]
    /// `dataengine merge`: one unit's committed output, as `process` wrote it in a shard's run directory, placed
    /// as unit `context.unitIndex` of `context.outputDirectory` exactly as `process` would have written it there
    /// (files hard-linked where possible). Returns the output as `process` would have returned it. Called for
    /// several units at once, as `process` is.
    func relocate(_ output: UnitOutput, context: StageContext) throws -> UnitOutput
}

extension SinkStage {
    public func checkBeforeRun(_ source: SourceOutput, context: StageContext) throws -> [String] { [] }

    public func relocate(_ output: UnitOutput, context: StageContext) throws -> UnitOutput {
        throw StageError(stage: context.stageId, message: "this sink cannot merge shards: it does not implement relocate(_:context:)",
                         hint: "run the pipeline on one machine, or give its sink stage a relocate method (docs/architecture.md)")
    }
}

/// What a sink reports at the end of a run.
public struct SinkSummary: Codable, Hashable, Sendable {
    public var outputs: [String: String]
    public var images: Int
    public var annotations: Int
    /// What the sink could not write and why (one line each), for the run report; nil when nothing.
    public var problems: [String]?

    public init(outputs: [String: String], images: Int, annotations: Int, problems: [String]? = nil) {
        self.outputs = outputs
        self.images = images
        self.annotations = annotations
        self.problems = problems
    }

    enum CodingKeys: String, CodingKey { case outputs, images, annotations, problems }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        outputs = try c.decode([String: String].self, forKey: .outputs).mapValues { RunRelativePath.resolved($0, decoder.userInfo) }
        images = try c.decode(Int.self, forKey: .images)
        annotations = try c.decode(Int.self, forKey: .annotations)
        problems = try c.decodeIfPresent([String].self, forKey: .problems)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(outputs.mapValues { RunRelativePath.stored($0, encoder.userInfo) }, forKey: .outputs)
        try c.encode(images, forKey: .images)
        try c.encode(annotations, forKey: .annotations)
        try c.encodeIfPresent(problems, forKey: .problems)
    }
}

/// An error in a stage that stops the run (as opposed to a bad item, which is dropped and counted).
public struct StageError: Error, CustomStringConvertible, Sendable {
    public var stage: String
    public var message: String
    public var hint: String?

    public init(stage: String, message: String, hint: String? = nil) {
        self.stage = stage
        self.message = message
        self.hint = hint
    }

    public var description: String { "stage `\(stage)`: \(message)" + (hint.map { "\n  hint: \($0)" } ?? "") }
}
