import Synchronization

/// The Winograd filters of one convolution weight, transformed on first use and kept for the calls after it, within
/// the process's `WinogradCacheBudget`. A kept filter gives the same bits as transforming the weight in the call
/// with the same variant (`winogradRun` uses the same blocks either way), so the budget changes speed, not results.
public final class WinogradFilterCache: Sendable {
    private let filters = Mutex<[WinogradVariant: WinogradFilter]>([:])

    public init() {}

    /// `weight`'s filter of `variant`: kept, or transformed now and kept when the budget has room; nil when it has
    /// not (transform in the call instead).
    public func filter(for weight: Tensor, variant: WinogradVariant) -> WinogradFilter? {
        filters.withLock { kept in
            if let filter = kept[variant] { return filter }
            let bytes = variant.inputTile * variant.inputTile * weight.shape[0] * weight.shape[1] * MemoryLayout<Float>.size
            guard WinogradCacheBudget.reserve(bytes) else { return nil }
            let filter = WinogradFilter(weight: weight, variant: variant)
            kept[variant] = filter
            return filter
        }
    }
}

/// How much memory the process may spend on kept Winograd filters (`--winograd-cache-mb`). Filters are kept in the
/// order the convolutions first run, until the budget is spent.
public enum WinogradCacheBudget {
    /// The default: none. Measured on SD2-base at 512 px (docs/benchmarks.md), keeping all 2.2 GB of the filters that
    /// qualify cut the 3x3 convolutions from 2.83 to 2.53 s per call but not the call (8.86 s without, 9.05 s with),
    /// and added 2.2 GB to the peak.
    public static let defaultMegabytes = 0
    private static let state = Mutex<(limit: Int, used: Int)>((defaultMegabytes << 20, 0))

    /// Sets the budget (filters already kept stay).
    public static func set(megabytes: Int) {
        state.withLock { $0.limit = max(0, megabytes) << 20 }
    }

    /// Bytes of filters kept so far.
    public static var usedBytes: Int { state.withLock { $0.used } }

    static func reserve(_ bytes: Int) -> Bool {
        state.withLock { s in
            guard s.used + bytes <= s.limit else { return false }
            s.used += bytes
            return true
        }
    }

    /// Whether a 3x3 convolution of this shape keeps its filter: many channels on a plane of at most 32 (where the
    /// in-call transform costs as much as it saves; measured in docs/benchmarks.md). Tests lower the channel product.
    public static func keeps(inputChannels c: Int, outputChannels o: Int, outputHeight: Int, outputWidth: Int) -> Bool {
        c * o >= minimumChannelProduct && min(outputHeight, outputWidth) <= 32
    }

    // Unsafe: tests lower it before computing; never written while kernels run.
    nonisolated(unsafe) public static var minimumChannelProduct = 640 * 640
}

extension Tensor {
    /// conv2d for a layer that runs the same weight many times: the algorithm `conv2d(weight:bias:stride:padding:)`
    /// chooses by shape (so the same bits as a plain call), with a Winograd filter kept in `filters` where
    /// `WinogradCacheBudget.keeps` the shape and the budget has room instead of transforming the weight in every call.
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Padding2D, keeping filters: WinogradFilterCache) -> Tensor {
        guard rank == 4, weight.rank == 4, weight.shape[1] == shape[1],
              case .winograd(let variant) = Tensor.conv2dAlgorithm(input: shape, weight: weight.shape, stride: stride, padding: padding) else {
            return conv2d(weight: weight, bias: bias, stride: stride, padding: padding)
        }
        let (oh, ow) = (shape[2] + padding.top + padding.bottom - 2, shape[3] + padding.left + padding.right - 2)
        if WinogradCacheBudget.keeps(inputChannels: shape[1], outputChannels: weight.shape[0], outputHeight: oh, outputWidth: ow),
           let filter = filters.filter(for: weight, variant: variant) {
            return conv2d(winograd: filter, bias: bias, padding: padding)
        }
        return conv2d(weight: weight, bias: bias, padding: padding, using: .winograd(variant))
    }
}
