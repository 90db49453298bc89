/// One unit of work of a run.
public enum RunTask: Hashable, Sendable, CustomStringConvertible {
    /// Read the source and split it into batches.
    case load
    /// One batch through one segment (a stage and the stages fused into it).
    case unit(segment: Int, batch: Int)
    /// A barrier stage planning from all of its input.
    case barrier(segment: Int)
    /// A write stage's last step: the merged annotation file and statistics.
    case finalize(segment: Int)
    /// A rounds stage planning round `round` (1-based) from everything before it.
    case roundPlan(segment: Int, round: Int)
    /// One batch of a round through the rounds stage's round stages.
    case roundUnit(segment: Int, round: Int, batch: Int)

    public var description: String {
        switch self {
        case .load: return "load"
        case .unit(let s, let b): return "segment \(s) batch \(b)"
        case .barrier(let s): return "barrier \(s)"
        case .finalize(let s): return "finalize \(s)"
        case .roundPlan(let s, let r): return "segment \(s) round \(r) plan"
        case .roundUnit(let s, let r, let b): return "segment \(s) round \(r) batch \(b)"
        }
    }
}

/// What a barrier commits last: how many batches its plan was split into.
public struct BarrierSummary: Codable, Sendable {
    public var batches: Int
    public var items: Int
}
