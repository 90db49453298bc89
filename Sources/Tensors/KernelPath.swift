import COpenBLAS

/// Which compute kernels this process runs: OpenBLAS's core type (chosen at start from the CPU, or pinned by
/// `OPENBLAS_CORETYPE`) and build. Different kernels may round differently, so runs record it in their fingerprint
/// and `dataengine merge` refuses shards that ran on different ones.
public enum KernelPath {
    public static var description: String {
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        return "OpenBLAS core \(core) (\(config))"
    }
}
