import Dispatch
import Foundation

/// Wall time per kind of kernel inside the model layers, for `dataengine bench unet`'s breakdown. Off unless
/// `KernelProfile.enabled` is set; then each layer call adds its time to its kind (calls do not nest: an
/// attention layer counts only its attention core, its projections count as linear).
public enum KernelProfile {
    public enum Kind: String, CaseIterable, Sendable {
        case conv3x3 = "3x3 convolution", conv3x3Stride2 = "3x3 convolution, stride 2", conv1x1 = "1x1 convolution"
        case linear = "linear", attention = "attention core", groupNorm = "group norm", layerNorm = "layer norm"
    }

    // Unsafe: `enabled` is set before a profiled run; the tallies below go through `lock`.
    nonisolated(unsafe) public static var enabled = false
    nonisolated(unsafe) private static var seconds: [Kind: Double] = [:]
    nonisolated(unsafe) private static var calls: [Kind: Int] = [:]
    private static let lock = NSLock()

    @inline(__always)
    static func measure<R>(_ kind: Kind, _ body: () -> R) -> R {
        guard enabled else { return body() }
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        seconds[kind, default: 0] += elapsed
        calls[kind, default: 0] += 1
        lock.unlock()
        return result
    }

    public static func reset() {
        lock.lock()
        seconds = [:]
        calls = [:]
        lock.unlock()
    }

    /// (kind, seconds, calls), largest time first.
    public static func snapshot() -> [(kind: Kind, seconds: Double, calls: Int)] {
        lock.lock()
        defer { lock.unlock() }
        return Kind.allCases.compactMap { k in seconds[k].map { (k, $0, calls[k] ?? 0) } }.sorted { $0.seconds > $1.seconds }
    }
}
