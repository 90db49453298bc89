import Foundation

/// The stage kinds a pipeline file may name, with how to read their config and build them.
public struct StageKind: Sendable {
    public var name: String
    public var summary: String
    /// Runs inside its input's unit, never checkpointed in between (generate -> label).
    public var fusesWithInput: Bool
    public var isSink: Bool
    /// Reads the stage's config from the stage entry (the keys beside `id`, `kind`, `input`).
    public var decodeConfig: @Sendable (Decoder) throws -> any StageConfig
    public var make: @Sendable (any StageConfig) throws -> any Stage

    public init(name: String, summary: String, fusesWithInput: Bool = false, isSink: Bool = false,
                decodeConfig: @escaping @Sendable (Decoder) throws -> any StageConfig,
                make: @escaping @Sendable (any StageConfig) throws -> any Stage) {
        self.name = name
        self.summary = summary
        self.fusesWithInput = fusesWithInput
        self.isSink = isSink
        self.decodeConfig = decodeConfig
        self.make = make
    }

    public static func typed<C: StageConfig, S: Stage>(_ name: String, summary: String, fusesWithInput: Bool = false,
                                                        isSink: Bool = false, config: C.Type,
                                                        make: @escaping @Sendable (C) throws -> S) -> StageKind {
        StageKind(name: name, summary: summary, fusesWithInput: fusesWithInput, isSink: isSink,
                  decodeConfig: { try C(from: $0) },
                  make: { try make($0 as! C) })
    }
}

/// A stage's configuration: decoded strictly from the pipeline file, encoded (every default filled in)
/// into the resolved plan, whose hash decides whether a run directory may be resumed.
public protocol StageConfig: Codable, Sendable {
    /// The config with its relative paths (models, detection files) made absolute against `base`, the folder
    /// of the pipeline file. Configs without paths keep the default, which returns `self`.
    func resolvingPaths(against base: URL) -> Self
    /// Files and folders whose contents the stage's output depends on (model folders), hashed into the run's
    /// fingerprint so `resume` refuses changed weights.
    var dependencies: [String] { get }
    /// The config with what it takes from earlier stages filled in (`quota` copies the settings of the
    /// generate, label and confidence stages it names). `earlier` maps ids to configs, in file order. Throws a
    /// message for the user when a named stage is missing or of the wrong kind.
    func linking(earlier: [(id: String, config: any StageConfig)]) throws -> Self
}

extension StageConfig {
    public func resolvingPaths(against base: URL) -> Self { self }
    public var dependencies: [String] { [] }
    public func linking(earlier: [(id: String, config: any StageConfig)]) throws -> Self { self }
}

/// `path` made absolute against `base` (unchanged when already absolute; `~/` expands to the home folder).
public func absolutePath(_ path: String, base: URL) -> String {
    if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
    if path.hasPrefix("~/") { return URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardized.path }
    return base.appendingPathComponent(path).standardized.path
}

public enum StageCatalog {
    public static let builtIn: [StageKind] = [
        .typed("filter", summary: "drop images whose objects cover too little of the image; drop small or crowd boxes",
               config: FilterConfig.self, make: { FilterStage(config: $0) }),
        .typed("attributes", summary: "mark each box easy or hard by whether a detector finds it (DetDiffusion's perception-aware attribute)",
               config: AttributesConfig.self, make: { AttributesStage(config: $0) }),
        .typed("generate", summary: "noise-and-denoise each reference into variants with the diffusion model (DiffusionEngine)",
               config: GenerateConfig.self, make: { GenerateStage(config: $0) }),
        .typed("label", summary: "label generated images with the Detection-Adapter on the last step's UNet features (fused with generate)",
               fusesWithInput: true, config: LabelConfig.self, make: { LabelStage(config: $0) }),
        .typed("confidence", summary: "keep labels scoring at least δ; drop images left without labels",
               config: ConfidenceConfig.self, make: { ConfidenceStage(config: $0) }),
        .typed("quota", summary: "generate more variants of references with categories below a minimum count (the paper's annotation lower bound)",
               config: QuotaConfig.self, make: { QuotaStage(config: $0) }),
        .typed("write", summary: "write the items as a COCO or VOC dataset, in shards, with statistics",
               isSink: true, config: WriteConfig.self, make: { WriteStage(config: $0) }),
    ]

    nonisolated(unsafe) private static var extra: [StageKind] = []
    private static let lock = NSLock()

    /// Adds a stage kind (tests, or code embedding the pipeline). Built-in names cannot be replaced.
    public static func register(_ kind: StageKind) {
        lock.lock(); defer { lock.unlock() }
        precondition(!builtIn.contains { $0.name == kind.name }, "stage kind \(kind.name) is built in")
        extra.removeAll { $0.name == kind.name }
        extra.append(kind)
    }

    public static var all: [StageKind] {
        lock.lock(); defer { lock.unlock() }
        return builtIn + extra
    }

    public static func kind(named name: String) -> StageKind? { all.first { $0.name == name } }
}
