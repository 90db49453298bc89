import ArgumentParser

/// `dataengine bench`: the benchmark commands, kept in their own target so the product libraries carry no
/// benchmark code.
public struct BenchCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that compare DataEngine with the reference implementations on this machine.",
        discussion: """
            Benchmarks print figures measured on this machine; the tools/ scripts run the Python reference \
            in the same run and print the ratios.

            Example:
              dataengine bench load     # COCO train2017 scale: load time, peak memory
              tools/bench_load.sh       # the same next to pycocotools, with ratios
              dataengine bench merge    # merge of 100 train2017 shards vs one load
              dataengine bench ops      # conv/attention kernels vs this machine's sgemm
              dataengine bench vae      # the SD VAE vs TAESD, encode and decode
            """,
        subcommands: [BenchLoadCommand.self, BenchMergeCommand.self, BenchOpsCommand.self, BenchUNetCommand.self, BenchVAECommand.self])
}
