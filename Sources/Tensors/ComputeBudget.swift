/// The engine's share of the machine. The run's scheduler decides it (cores / workers, `StageContext.computeThreads`)
/// and the engine applies it: OpenBLAS's threads and the tensor operations' threads are process-global, and
/// every worker gets the same share, so one process-wide setting keeps workers x threads <= cores.
public enum ComputeBudget {
    /// Sets OpenBLAS's and `TensorThreads`' counts to `threadsPerWorker` (at least 1) and returns the value set.
    /// Call it before the first matrix work of a run; calling it again with the same value is free.
    @discardableResult
    public static func apply(threadsPerWorker: Int) -> Int {
        let threads = max(1, threadsPerWorker)
        if BLASThreads.current != threads { BLASThreads.set(threads) }
        if TensorThreads.count != threads { TensorThreads.count = threads }
        return threads
    }

    /// The share of one worker when `workers` run at once on `cores` cores.
    public static func threadsPerWorker(workers: Int, cores: Int) -> Int { max(1, cores / max(1, workers)) }
}
