import ArgumentParser
import Dispatch
import Foundation
import Support
import Diffusion
import Tensors

/// `dataengine bench unet`: seconds per UNet call at a real architecture with synthetic weights.
struct BenchUNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "Time one UNet2DConditionModel call at the SD2-base (or SD 1.5) architecture with synthetic weights.",
        discussion: """
            Builds the UNet of the chosen architecture in memory with made-up weights (nothing is read or \
            downloaded; float32, about 3.5 GB), then times calls on a (batch, 4, latent, latent) sample with \
            77 text tokens, as one classifier-free-guidance step of img2img does (batch 2). Reports the best \
            and the median of the timed calls, GFLOP/s (matrix-product work of one call, counted by \
            UNetCost), the process's peak resident memory, and where the time goes by kind of kernel (from \
            an extra profiled call). tools/bench_unet.sh runs this and diffusers' reference \
            (tools/bench_reference.py) on the same machine and prints the ratio.

            Examples:
              dataengine bench unet --latent 32
              dataengine bench unet --arch sd2-base --latent 64 --batch 2 --runs 3 --json
            """)

    enum Architecture: String, ExpressibleByArgument, CaseIterable {
        case sd2Base = "sd2-base", sd15 = "sd15"
        var config: UNet2DConditionModelConfig { self == .sd2Base ? .sd2Base : .sd15 }
    }

    @Option(help: "Architecture: \(Architecture.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: Architecture = .sd2Base

    @Option(help: "Latent side (64 for 512x512 images, 32 for 256x256).")
    var latent = 32

    @Option(help: "Batch (2 = one classifier-free-guidance step).")
    var batch = 2

    @Option(help: "Timed calls after one warm-up call.")
    var runs = 3

    @Option(help: "Threads for OpenBLAS and the tensor operations (default: the number of cores).")
    var threads: Int?

    @Flag(help: "Skip the profiled call that breaks the time down by kernel.")
    var noProfile = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    struct KernelShare: Codable {
        var kernel: String
        var seconds: Double
        var share: Double
        var calls: Int
    }

    struct Result: Codable {
        var engine = "dataengine"
        var arch: String
        var latent: Int
        var batch: Int
        var threads: Int
        var buildSeconds: Double
        var secondsPerCall: Double
        var medianSecondsPerCall: Double
        var gflopPerCall: Double
        var gflops: Double
        var peakRSSBytes: Int
        var kernels: [KernelShare]
        var loadAverage: String

        enum CodingKeys: String, CodingKey {
            case engine, arch, latent, batch, threads, kernels
            case buildSeconds = "build_seconds", secondsPerCall = "seconds_per_call"
            case medianSecondsPerCall = "median_seconds_per_call", gflopPerCall = "gflop_per_call", gflops
            case peakRSSBytes = "peak_rss_bytes", loadAverage = "load_average"
        }
    }

    func validate() throws {
        guard latent >= 8, latent % 8 == 0 else { throw ValidationError("--latent must be a positive multiple of 8") }
        guard batch >= 1, runs >= 1 else { throw ValidationError("--batch and --runs must be at least 1") }
    }

    @OptionGroup var winogradCache: WinogradCacheOption

    func run() throws {
        winogradCache.apply()
        let n = threads ?? AvailableCPUs.current.count
        ComputeBudget.apply(threadsPerWorker: n)
        let config = arch.config
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let t0 = now()
        let unet = try UNet2DConditionModel(config: config, weights: .synthetic(seed: 1))
        let buildSeconds = now() - t0
        let sample = GaussianNoiseSample.tensor([batch, config.inChannels, latent, latent], seed: 2)
        let context = GaussianNoiseSample.tensor([batch, 77, config.crossAttentionDim[0]], seed: 3)
        log("built \(arch.rawValue) UNet with synthetic weights in \(String(format: "%.1f", buildSeconds)) s; warm-up call")
        _ = unet(sample, timestep: 500, encoderHiddenStates: context)
        var times: [Double] = []
        for i in 0..<runs {
            let start = now()
            let out = unet(sample, timestep: 500, encoderHiddenStates: context)
            times.append(now() - start)
            precondition(out.scalars.allSatisfy(\.isFinite), "bench unet: non-finite output")
            log("call \(i + 1)/\(runs): \(String(format: "%.3f", times.last!)) s")
        }
        var kernels: [KernelShare] = []
        if !noProfile {
            KernelProfile.reset()
            KernelProfile.enabled = true
            let start = now()
            _ = unet(sample, timestep: 500, encoderHiddenStates: context)
            let total = now() - start
            KernelProfile.enabled = false
            let shares = KernelProfile.snapshot()
            kernels = shares.map { KernelShare(kernel: $0.kind.rawValue, seconds: $0.seconds, share: $0.seconds / total, calls: $0.calls) }
            let rest = total - shares.reduce(0) { $0 + $1.seconds }
            kernels.append(KernelShare(kernel: "other (elementwise, concat, layout)", seconds: rest, share: rest / total, calls: 0))
        }
        let cost = UNetCost(config: config, batch: batch, height: latent, width: latent)
        let best = times.min()!, median = times.sorted()[times.count / 2]
        let result = Result(arch: arch.rawValue, latent: latent, batch: batch, threads: n, buildSeconds: buildSeconds,
                            secondsPerCall: best, medianSecondsPerCall: median, gflopPerCall: cost.totalFLOPs / 1e9,
                            gflops: cost.totalFLOPs / 1e9 / best, peakRSSBytes: ProcessMemory.peakResident ?? 0,
                            kernels: kernels,
                            loadAverage: (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
                                .split(separator: " ").prefix(3).joined(separator: " ") ?? "?")
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
            return
        }
        print("UNet \(arch.rawValue), latent \(latent)x\(latent), batch \(batch), \(n) threads (load average \(result.loadAverage))")
        print(String(format: "  seconds per call: %.3f best, %.3f median of %d", best, median, runs))
        print(String(format: "  work: %.1f GFLOP per call -> %.1f GFLOP/s", result.gflopPerCall, result.gflops))
        print(String(format: "  peak RSS: %.2f GB; Winograd filters kept: %.0f MB of --winograd-cache-mb %d", Double(result.peakRSSBytes) / 1e9,
                     Double(WinogradCacheBudget.usedBytes) / 1048576, winogradCache.winogradCacheMb))
        if !kernels.isEmpty {
            print("  time by kernel (one profiled call):")
            for k in kernels {
                let name = k.kernel.padding(toLength: 38, withPad: " ", startingAt: 0)
                print("    \(name)" + String(format: "%7.3f s  %5.1f %%  ", k.seconds, 100 * k.share) + (k.calls > 0 ? "\(k.calls) calls" : ""))
            }
        }
    }

    private func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}

/// Standard-normal inputs for benchmarks (DiffusionNoise's generator, by a seed).
enum GaussianNoiseSample {
    static func tensor(_ shape: [Int], seed: UInt64) -> Tensor {
        (try? DiffusionNoise(seed: seed).tensor("bench", shape: shape)) ?? Tensor(zeros: shape)
    }
}
