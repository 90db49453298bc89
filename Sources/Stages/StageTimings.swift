import Foundation

/// Seconds spent per part of the generation work in this run (`StageContext.timings`) (encode, denoise, decode, adapter, write, ...)
/// and how many images they cover, for the end-of-run breakdown. Kept out of checkpoints and outputs so that
/// timings never change a run's bytes.
// Unchecked: the tallies are guarded by `lock`.
public final class StageTimings: @unchecked Sendable {
    public init() {}

    private let lock = NSLock()
    private var seconds: [String: Double] = [:]
    private var counts: [String: Int] = [:]

    public func add(_ part: String, _ value: Double) {
        lock.lock(); defer { lock.unlock() }
        seconds[part, default: 0] += value
    }

    public func add(_ parts: [String: Double]) {
        for (k, v) in parts { add(k, v) }
    }

    /// Counts what the seconds are per ("generated-images", "references").
    public func count(_ name: String, _ n: Int = 1) {
        lock.lock(); defer { lock.unlock() }
        counts[name, default: 0] += n
    }

    public func snapshot() -> (seconds: [String: Double], counts: [String: Int]) {
        lock.lock(); defer { lock.unlock() }
        return (seconds, counts)
    }

    public func reset() {
        lock.lock(); defer { lock.unlock() }
        seconds = [:]
        counts = [:]
    }

    /// For the progress line: "generated 12 images (1.3 s each)", nil before the first.
    public func progressDetail() -> String? {
        let (seconds, counts) = snapshot()
        guard let images = counts["generated-images"], images > 0 else { return nil }
        let total = seconds.values.reduce(0, +)
        return String(format: "generated %d images (%.1f s each)", images, total / Double(images))
    }

    /// "per generated image: text 0.01 s, encode 0.05 s, denoise 2.31 s, ..." or nil when nothing was generated.
    public func summary(order: [String] = ["attributes", "text", "encode", "denoise", "decode", "adapter-encode", "adapter", "write"]) -> String? {
        let (seconds, counts) = snapshot()
        guard let images = counts["generated-images"], images > 0 else { return nil }
        let keys = order.filter { seconds[$0] != nil } + seconds.keys.filter { !order.contains($0) }.sorted()
        let total = keys.reduce(0) { $0 + seconds[$1]! }
        let parts = keys.map { String(format: "%@ %.2f s", $0, seconds[$0]! / Double(images)) }
        return String(format: "per generated image (%d made in this process): ", images) + parts.joined(separator: ", ")
            + String(format: "; %.2f s in all", total / Double(images))
    }
}
