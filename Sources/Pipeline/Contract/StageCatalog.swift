/// The stage kinds a run may use: the source kind (the pipeline's `source:` block) and the stage kinds its
/// `stages:` may name. `Pipeline` knows none of them: the program hands its catalog to the runner
/// (`StageCatalog.builtIn` in `Stages`), and code embedding the runner adds its own kinds with `adding`.
public struct StageCatalog: Sendable {
    public private(set) var source: StageKind
    public private(set) var kinds: [StageKind]
    /// The compute kernels the stages run on (e.g. OpenBLAS's core type), recorded in every run's fingerprint
    /// so that `merge` can refuse shards computed on different ones. Nil when the stages compute nothing that
    /// depends on the CPU.
    public var kernelPath: String?

    public init(source: StageKind, kinds: [StageKind], kernelPath: String? = nil) {
        self.source = source
        self.kinds = kinds
        self.kernelPath = kernelPath
    }

    public func kind(named name: String) -> StageKind? { kinds.first { $0.name == name } }

    public var names: [String] { kinds.map(\.name) }

    /// The catalog with `kind` added; a kind of the same name is replaced.
    public func adding(_ kind: StageKind) -> StageCatalog {
        var copy = self
        copy.kinds.removeAll { $0.name == kind.name }
        copy.kinds.append(kind)
        return copy
    }

    /// The catalog with another source kind.
    public func replacingSource(with kind: StageKind) -> StageCatalog {
        var copy = self
        copy.source = kind
        return copy
    }
}
