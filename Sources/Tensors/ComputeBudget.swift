/// The engine's share of the machine. The run's scheduler decides it (cores / workers, `StageContext.computeThreads`)
/// and the engine applies it: the tensor operations' threads (which also run the matrix products, in blocks,
/// with OpenBLAS itself kept at one thread so that results do not depend on the count) are process-global, and
/// every worker gets the same share, so one process-wide setting keeps workers x threads <= cores.
public enum ComputeBudget {
    /// Sets `TensorThreads`' count to `threadsPerWorker` (at least 1), OpenBLAS's to 1, and returns the count.
    /// Call it before the first matrix work of a run; calling it again with the same value is free.
    @discardableResult
    public static func apply(threadsPerWorker: Int) -> Int {
        let threads = max(1, threadsPerWorker)
        if BLASThreads.current != 1 { BLASThreads.set(1) }
        if TensorThreads.count != threads { TensorThreads.count = threads }
        return threads
    }

    /// The share of one worker when `workers` run at once on `cores` cores.
    public static func threadsPerWorker(workers: Int, cores: Int) -> Int { max(1, cores / max(1, workers)) }
}
