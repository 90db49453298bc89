import Foundation
import Yams

/// The pipeline with every default filled in and every path absolute: what `validate` prints, what a run
/// directory stores, and (hashed) what decides whether a run may be resumed.
public struct ResolvedPlan: Encodable, Sendable {
    public var name: String
    public var seed: UInt64
    public var batchSize: Int
    public var source: any StageConfig
    public var sourceKind: StageKind
    public var stages: [ResolvedStage]

    public struct ResolvedStage: Encodable, Sendable {
        public var id: String
        public var kind: String
        public var input: String
        public var fusedWithInput: Bool
        public var config: any StageConfig
        public var stageKind: StageKind

        enum CodingKeys: String, CodingKey { case id, kind, input, fusedWithInput = "fused_with_input", config }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(kind, forKey: .kind)
            try c.encode(input, forKey: .input)
            try c.encode(fusedWithInput, forKey: .fusedWithInput)
            try config.encode(to: c.superEncoder(forKey: .config))
        }
    }

    /// The id the source is known by as an `input`.
    public static let sourceId = "load"

    enum CodingKeys: String, CodingKey { case name, seed, batchSize = "batch_size", source, stages }

    public init(_ file: PipelineFile) {
        name = file.name
        seed = file.seed
        batchSize = file.batchSize
        source = file.source
        sourceKind = file.sourceKind
        var previous = ResolvedPlan.sourceId
        stages = file.stages.map { entry in
            let input = entry.input ?? previous
            previous = entry.id
            return ResolvedStage(id: entry.id, kind: entry.kind, input: input, fusedWithInput: entry.stageKind.fusesWithInput(entry.config),
                                 config: entry.config, stageKind: entry.stageKind)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(seed, forKey: .seed)
        try c.encode(batchSize, forKey: .batchSize)
        try source.encode(to: c.superEncoder(forKey: .source))
        try c.encode(stages, forKey: .stages)
    }

    /// Refuses a plan whose stages name model folders or files that do not exist, before anything runs.
    public func checkDependenciesExist(file: String) throws {
        for stage in stages {
            for path in stage.config.dependencies where !FileManager.default.fileExists(atPath: path) {
                throw ConfigError(file: file, message: "stage `\(stage.id)`: \(path) does not exist",
                                  hint: "see data/README.md for where models and detection files go (the shipped demo model is models/demo)")
            }
        }
    }

    /// The source stage, built from its config.
    public func makeSource() throws -> any SourceStage {
        guard let stage = try sourceKind.make(source) as? any SourceStage else {
            throw PipelineError(message: "source kind `\(sourceKind.name)` does not build a SourceStage", hint: "this is a bug in the stage catalog")
        }
        return stage
    }

    /// Every sink's `checkBeforeRun` on the loaded source, in plan order (`validate`, and a run before its
    /// source is committed). Returns the sinks' notes, each prefixed with the stage id.
    public func checkSinks(_ source: SourceOutput, outputDirectory: (String) -> URL? = { _ in nil }) throws -> [String] {
        var notes: [String] = []
        for stage in stages where stage.stageKind.isSink {
            guard let sink = try stage.stageKind.make(stage.config) as? any SinkStage else { continue }
            let context = StageContext(runSeed: seed, stageId: stage.id, meta: source.meta, unitIndex: 0,
                                       outputDirectory: outputDirectory(stage.id))
            notes += try sink.checkBeforeRun(source, context: context).map { "stage `\(stage.id)`: \($0)" }
        }
        return notes
    }

    /// Canonical JSON (sorted keys): stored in the run directory and hashed.
    public func canonicalJSON() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [10]
    }

    /// The plan as YAML for people: like the pipeline file, with every default present. (Yams writes doubles
    /// in exponent form, `2e-2`; numbers are rewritten the way people write them, `0.02`.)
    public func yaml() throws -> String {
        let text = try YAMLEncoder().encode(self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard let colon = line.range(of: ": ", options: .backwards) else { return String(line) }
            let value = line[colon.upperBound...]
            guard value.contains("e"), value.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true,
                  let number = Double(value) else { return String(line) }
            return line[..<colon.upperBound] + "\(number)"
        }.joined(separator: "\n")
    }
}
