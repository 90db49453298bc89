import Foundation
import VectorKernels

/// Which vector code the softmax's exponential runs: Swift's (baseline x86-64: two SSE instructions per 8-lane
/// vector) or VectorKernels' AVX2 build of the same operations, picked from the CPU at first use. Both give the same
/// bits (tested), so a run's fingerprint does not record it. `DATAENGINE_VECTOR=baseline` forces Swift's (to compare
/// speed); `avx2` is taken only where the CPU has it.
public enum VectorPath: String, Sendable {
    case baseline
    case avx2

    public static let current: VectorPath = {
        let available = dataengine_vector_avx2() != 0
        switch ProcessInfo.processInfo.environment["DATAENGINE_VECTOR"]?.lowercased() {
        case "baseline": return .baseline
        default: return available ? .avx2 : .baseline
        }
    }()
}
