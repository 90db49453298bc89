import Dispatch
import Foundation
import Support

/// How many threads the tensor operations themselves use (group norm, softmax, im2col, activations, ...).
/// Process-wide; defaults to the number of active cores. OpenBLAS has its own, separate count
/// (`BLASThreads`).
///
/// Every parallel operation splits its work into units whose boundaries do not depend on this count, and
/// each output element is computed by exactly the same arithmetic in the same order whichever thread runs
/// its unit, so results are bit-identical for any thread count.
public enum TensorThreads {
    private static let lock = NSLock()
    // Unsafe: every access goes through `lock`.
    nonisolated(unsafe) private static var storage = AvailableCPUs.current.count

    /// The thread count (at least 1). Setting a value below 1 stores 1.
    public static var count: Int {
        get { lock.lock(); defer { lock.unlock() }; return storage }
        set { lock.lock(); storage = max(1, newValue); lock.unlock() }
    }

    /// Runs `body` with the count temporarily set to `threads`, then restores the previous count.
    public static func with<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        let saved = count
        count = threads
        defer { count = saved }
        return try body()
    }
}

/// Runs `body(unit)` for every unit in `0..<units`, spreading contiguous ranges of units over
/// `TensorThreads.count` threads. Units must be independent (write disjoint outputs); the partition into
/// units is the caller's and must not depend on the thread count.
@inline(__always)
func parallelUnits(_ units: Int, _ body: (Int) -> Void) {
    parallelRanges(units) { range in for u in range { body(u) } }
}

/// Like `parallelUnits` but hands each thread its whole contiguous range of units at once.
func parallelRanges(_ units: Int, _ body: (Range<Int>) -> Void) {
    guard units > 0 else { return }
    let threads = min(TensorThreads.count, units)
    if threads <= 1 {
        body(0..<units)
        return
    }
    withoutActuallyEscaping(body) { body in
        let shared = ConcurrentBody(call: body)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let lo = units * t / threads
            let hi = units * (t + 1) / threads
            if lo < hi { shared.call(lo..<hi) }
        }
    }
}

/// A loop body called from several threads at once. Unchecked because the bodies capture raw pointers: each call
/// writes only its own range's outputs (the contract of `parallelUnits`), which the compiler cannot see.
struct ConcurrentBody<Argument>: @unchecked Sendable {
    let call: (Argument) -> Void
}

/// Splits `count` elements into fixed-size blocks (independent of the thread count) and runs `body` on each
/// block's element range, in parallel when the work is large enough to pay for it.
func parallelBlocks(_ count: Int, blockSize: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let blocks = (count + blockSize - 1) / blockSize
    parallelUnits(blocks) { b in
        body(b * blockSize..<min(count, (b + 1) * blockSize))
    }
}
