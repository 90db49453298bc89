import COpenBLAS

/// OpenBLAS's thread count, process-global. The engine keeps it at 1 (`sgemm` parallelises products itself in
/// blocks fixed by the shape, because OpenBLAS's own threading changes the result's bits with the thread count);
/// other counts are for experiments and benchmarks of OpenBLAS alone.
public enum BLASThreads {
    public static func set(_ count: Int) { openblas_set_num_threads(Int32(max(1, count))) }
    public static var current: Int { Int(openblas_get_num_threads()) }
}
