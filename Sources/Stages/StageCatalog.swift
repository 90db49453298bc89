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
public protocol StageConfig: Codable, Sendable {}

public enum StageCatalog {
    public static let builtIn: [StageKind] = [
        .typed("filter", summary: "drop images whose objects cover too little of the image; drop small or crowd boxes",
               config: FilterConfig.self, make: { FilterStage(config: $0) }),
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
