import Foundation
import VectorKernels

/// Which vector code the softmax's exponential runs: Swift's (baseline x86-64: two SSE instructions per 8-lane
/// vector) or VectorKernels' AVX2 build of the same operations, picked from the CPU at first use. Both give the same
/// bits (tested), so a run's fingerprint does not record it. `DATAENGINE_VECTOR=baseline` forces Swift's (to compare
/// speed); `avx2` is taken only where the CPU has it. Another value, or `avx2` on a CPU without it, is reported on
/// standard error and the CPU's best path is used.
public enum VectorPath: String, Sendable {
    case baseline
    case avx2

    public static let current: VectorPath = {
        let (path, warning) = choose(requested: ProcessInfo.processInfo.environment["DATAENGINE_VECTOR"], avx2Available: dataengine_vector_avx2() != 0)
        if let warning { FileHandle.standardError.write(Data((warning + "\n").utf8)) }
        return path
    }()

    /// The path for a `DATAENGINE_VECTOR` value (nil or empty: the CPU's best) and what to tell the user about it.
    public static func choose(requested: String?, avx2Available: Bool) -> (path: VectorPath, warning: String?) {
        let best: VectorPath = avx2Available ? .avx2 : .baseline
        guard let raw = requested, !raw.isEmpty else { return (best, nil) }
        switch VectorPath(rawValue: raw.lowercased()) {
        case .baseline: return (.baseline, nil)
        case .avx2: return (best, avx2Available ? nil : "DATAENGINE_VECTOR=\(raw): this CPU has no AVX2; the baseline path runs")
        case nil: return (best, "DATAENGINE_VECTOR=\(raw) ignored: expected baseline or avx2; the \(best.rawValue) path runs")
        }
    }
}
