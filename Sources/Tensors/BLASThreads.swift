import COpenBLAS

/// OpenBLAS's thread count is process-global: set it once per process, from the compute budget (workers x
/// BLAS threads <= cores), before any matrix work.
public enum BLASThreads {
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}
