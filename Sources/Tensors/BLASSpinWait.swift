import Foundation

/// How long OpenBLAS's idle worker threads spin before sleeping.
///
/// After every multi-threaded BLAS call, OpenBLAS (pthreads build) keeps its worker threads busy-waiting
/// for about 2^28 cycles (a tenth of a second) in case another call follows. On a machine with few
/// cores those spinning threads take the cores away from the work done between BLAS calls, such as the
/// softmax inside attention or a group norm after a convolution: measured on 2 cores, 2-thread softmax
/// between sgemms ran no faster than 1 thread, and self-attention took 0.65 s instead of 0.48 s.
///
/// OpenBLAS reads the limit (`OPENBLAS_THREAD_TIMEOUT`, log2 cycles, 4...30) from the environment when it
/// loads; `setTimeout` sets that variable, makes OpenBLAS re-read its environment and restarts its worker
/// threads so they use it. Call it once at startup, next to `BLASThreads.set` and before any matrix work,
/// never while a BLAS call may be running on another thread. It uses `openblas_read_env` and
/// `blas_thread_shutdown_`, which libopenblas exports but does not declare in cblas.h; when they are
/// missing it changes nothing and returns false.
public enum BLASSpinWait {
    /// Sets the spin limit to 2^log2Cycles cycles (clamped to 4...30, OpenBLAS's range). 2^16 cycles (tens
    /// of microseconds) keeps back-to-back BLAS calls fast and frees the cores almost at once otherwise.
    @discardableResult
    public static func setTimeout(log2Cycles: Int = 16) -> Bool {
        guard let process = dlopen(nil, RTLD_NOW) else { return false }   // the program and its libraries
        defer { dlclose(process) }
        guard let readEnv = dlsym(process, "openblas_read_env"),
              let shutdown = dlsym(process, "blas_thread_shutdown_") else { return false }
        let value = min(30, max(4, log2Cycles))
        setenv("OPENBLAS_THREAD_TIMEOUT", String(value), 1)
        unsafeBitCast(readEnv, to: (@convention(c) () -> Void).self)()
        // Worker threads read the limit when they start; they restart on the next BLAS call.
        _ = unsafeBitCast(shutdown, to: (@convention(c) () -> Int32).self)()
        return true
    }

    /// The limit OpenBLAS will use (log2 cycles), from the environment; nil when unset (OpenBLAS's default,
    /// 28).
    public static var configuredLog2Cycles: Int? {
        getenv("OPENBLAS_THREAD_TIMEOUT").flatMap { Int(String(cString: $0)) }
    }
}
