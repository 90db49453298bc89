import Foundation

/// A stage kind a pipeline file may name: how to read its config and build the stage, and how it joins the run
/// (fused into its input's unit, a sink that writes a dataset, or the source that reads one).
public struct StageKind: Sendable {
    public var name: String
    public var summary: String
    /// Whether a stage of this config runs inside its input's unit, never checkpointed in between (generate ->
    /// label). Such a stage must be a `FusedStage` whose hand-over type is that of the `HandOverStage` before it.
    public var fusesWithInput: @Sendable (any StageConfig) -> Bool
    public var isSink: Bool
    /// Reads the pipeline's `source:` block; its stage is a `SourceStage`.
    public var isSource: Bool
    /// Reads the stage's config from the stage entry (the keys beside `id`, `kind`, `input`).
    public var decodeConfig: @Sendable (Decoder) throws -> any StageConfig
    public var make: @Sendable (any StageConfig) throws -> any Stage

    public init(name: String, summary: String, fusesWithInput: @escaping @Sendable (any StageConfig) -> Bool = { _ in false },
                isSink: Bool = false, isSource: Bool = false,
                decodeConfig: @escaping @Sendable (Decoder) throws -> any StageConfig,
                make: @escaping @Sendable (any StageConfig) throws -> any Stage) {
        self.name = name
        self.summary = summary
        self.fusesWithInput = fusesWithInput
        self.isSink = isSink
        self.isSource = isSource
        self.decodeConfig = decodeConfig
        self.make = make
    }

    /// A kind whose config is `C` and whose stage is `S`.
    public static func typed<C: StageConfig, S: Stage>(_ name: String, summary: String, fusesWithInput: Bool = false,
                                                        isSink: Bool = false, config: C.Type,
                                                        make: @escaping @Sendable (C) throws -> S) -> StageKind {
        typed(name, summary: summary, fusesWhen: { _ in fusesWithInput }, isSink: isSink, isSource: S.self is any SourceStage.Type,
              config: config, make: { try make($0) as any Stage })
    }

    /// A kind whose config is `C`, fused with its input when `fusesWhen` says so for the config (the label
    /// stage fuses with generate to read its features, except when it reads a detector's results file).
    public static func typed<C: StageConfig>(_ name: String, summary: String, fusesWhen: @escaping @Sendable (C) -> Bool,
                                             isSink: Bool = false, isSource: Bool = false, config: C.Type,
                                             make: @escaping @Sendable (C) throws -> any Stage) -> StageKind {
        StageKind(name: name, summary: summary, fusesWithInput: { ($0 as? C).map(fusesWhen) ?? false }, isSink: isSink,
                  isSource: isSource,
                  decodeConfig: { try C(from: $0) },
                  make: { config in
                      guard let typed = config as? C else {
                          throw PipelineError(message: "stage kind `\(name)` was given a \(type(of: config)) config instead of \(C.self)",
                                              hint: "this is a bug in the code that built the plan")
                      }
                      return try make(typed)
                  })
    }
}

/// A stage's configuration: decoded strictly from the pipeline file, encoded (every default filled in)
/// into the resolved plan, whose hash decides whether a run directory may be resumed.
public protocol StageConfig: Codable, Sendable {
    /// The config with its relative paths (models, detection files) made absolute against `base`, the folder
    /// of the pipeline file (with `absolutePath(_:base:)`). Configs without paths keep the default, which
    /// returns `self`.
    func resolvingPaths(against base: URL) -> Self
    /// Files and folders whose contents the stage's output depends on (model folders), hashed into the run's
    /// fingerprint (size, modification time and small files' contents) so `resume` refuses changed weights.
    var dependencies: [String] { get }
    /// Input files hashed in full into the run's fingerprint (the source's annotation files).
    var inputFiles: [String] { get }
    /// The config with what it takes from earlier stages filled in (`quota` copies the settings of the
    /// generate, label and confidence stages it names). `earlier` maps ids to configs, in file order. Throws a
    /// message for the user when a named stage is missing or of the wrong kind.
    func linking(earlier: [(id: String, config: any StageConfig)]) throws -> Self
}

extension StageConfig {
    public func resolvingPaths(against base: URL) -> Self { self }
    public var dependencies: [String] { [] }
    public var inputFiles: [String] { [] }
    public func linking(earlier: [(id: String, config: any StageConfig)]) throws -> Self { self }
}

/// `path` made absolute against `base` (unchanged when already absolute; `~/` expands to the home folder). The
/// one rule for every path in a pipeline file.
public func absolutePath(_ path: String, base: URL) -> String {
    if path.hasPrefix("/") { return URL(fileURLWithPath: path).standardized.path }
    if path.hasPrefix("~/") { return URL(fileURLWithPath: NSString(string: path).expandingTildeInPath).standardized.path }
    return base.appendingPathComponent(path).standardized.path
}
