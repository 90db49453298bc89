import ArgumentParser
import Dispatch
import Foundation
import Support
import Tensors

/// `dataengine bench ops`: the tensor operations at SD2-base UNet shapes, against this machine's sgemm rate.
struct BenchOpsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time the engine's tensor operations at SD2-base UNet shapes against the machine's sgemm rate.",
        discussion: """
            Measures, in one run, OpenBLAS's sgemm rate (2048 x 2048 x 2048, timed at the start and again at \
            the end, the best run counts) and the operations of one UNet pass at SD2-base sizes with batch 2 \
            (classifier-free guidance) and a 64x64 latent (512x512 images): 3x3 convolutions at every \
            resolution, a 1x1 convolution, self-attention over 4096 tokens (5 heads of 64), cross-attention \
            to 77 text tokens, group norm, and a few elementwise operations. Each is timed as its best run \
            (3 to 7 runs) after a warm-up. GFLOP/s counts 2*M*N*K for the matrix-product work (convolutions \
            as their direct/im2col product 2*O*C*9*H*W*N, attention as QK^T plus PV); "of sgemm" is that \
            rate over the sgemm rate, so Winograd convolutions, which multiply less, can pass 100 %. Each 3x3 \
            convolution is timed as conv2d chooses it (named in brackets), then with im2col, Winograd F(2,3) \
            and F(4,3) forced, Winograd also with the weight transformed beforehand (a WinogradFilter, as a \
            layer caching it runs); --latent 32 times the planes of 256x256 images instead. \
            Memory-bound operations report GB/s (bytes read + written) instead. The load average printed \
            with the table tells how much else was running. OpenBLAS's idle threads are made to stop \
            spinning after 2^16 cycles (BLASSpinWait), since their default tenth of a second of spinning \
            takes the cores from the work between BLAS calls; --keep-blas-spin measures without that.

            Example:
              dataengine bench ops --threads 2
              dataengine bench ops --conv-only --latent 32
              dataengine bench ops --json > ops.json
            """)

    @Option(help: "Threads for OpenBLAS and for the tensor operations (default: the number of cores).")
    var threads: Int?

    @Option(help: "Latent side for the 3x3 convolution rows: 64 (512x512 images) or 32 (256x256); their planes are latent, latent/2, latent/4 and latent/8.")
    var latent = 64

    @Flag(help: "Only the 3x3 convolution rows (and sgemm).")
    var convOnly = false

    @Flag(help: "Only the algorithm conv2d chooses for each 3x3 convolution, not each one forced.")
    var chosenOnly = false

    @Flag(help: "Print the results as JSON instead of a table.")
    var json = false

    @Flag(help: "Leave OpenBLAS's idle threads spinning for its default 2^28 cycles after each call (by default the benchmark shortens that to 2^16 with BLASSpinWait, as the engine should).")
    var keepBlasSpin = false

    struct Row: Codable {
        var name: String
        var shape: String
        var seconds: Double
        var gflops: Double?
        var ofSgemm: Double?
        var gbPerSecond: Double?
    }

    struct Report: Codable {
        var threads: Int
        var sgemmGflops: Double
        /// How long OpenBLAS's idle threads spun after each call (log2 cycles; 28 is OpenBLAS's default).
        var blasSpinLog2Cycles: Int
        /// The 1-minute load average when the run ended (Linux), to judge how shared the machine was.
        var loadAverage: Double?
        var rows: [Row]
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if latent < 8 { throw ValidationError("--latent must be at least 8") }
    }

    func run() throws {
        let n = threads ?? AvailableCPUs.current.count
        ComputeBudget.apply(threadsPerWorker: n)
        let spinShortened = keepBlasSpin ? false : BLASSpinWait.setTimeout(log2Cycles: 16)
        var rng = BenchRandom()
        var rows: [Row] = []

        // The machine's sgemm rate.
        let size = 2048
        let a = rng.tensor([size, size]), b = rng.tensor([size, size])
        let sgemmFlops = 2 * pow(Double(size), 3)
        // Measured here and again at the end; the faster run is the rate (this machine may be shared).
        var sgemmSeconds = Self.best { _ = Tensor.matmul(a, b) }
        var peak = sgemmFlops / sgemmSeconds / 1e9

        func flopRow(_ name: String, _ shape: String, flops: Double, _ body: () -> Void) {
            let s = Self.best(body)
            let rate = flops / s / 1e9
            rows.append(Row(name: name, shape: shape, seconds: s, gflops: rate, ofSgemm: rate / peak))
        }
        func byteRow(_ name: String, _ shape: String, bytes: Double, _ body: () -> Void) {
            let s = Self.best(body)
            rows.append(Row(name: name, shape: shape, seconds: s, gbPerSecond: bytes / s / 1e9))
        }

        let batch = 2
        // 3x3 convolutions (padding 1) at each UNet resolution: what conv2d chooses ("conv3x3"), then each
        // algorithm forced, Winograd also with the weight transformed beforehand (as a layer caching a
        // WinogradFilter runs it). FLOPs are the direct convolution's, so Winograd can pass 100 %.
        let side0 = latent
        for (inChannels, channels, side) in [(320, 320, side0), (640, 640, side0 / 2), (1280, 1280, side0 / 4),
                                             (2560, 1280, side0 / 4), (1280, 1280, side0 / 8)] where side >= 1 {
            let x = rng.tensor([batch, inChannels, side, side]), w = rng.tensor([channels, inChannels, 3, 3], scale: 0.02)
            let bias = rng.tensor([channels])
            let flops = 2.0 * Double(batch * channels * side * side) * Double(inChannels * 9)
            let shape = "\(inChannels)->\(channels) @\(side)x\(side)"
            let chosen = Tensor.conv2dAlgorithm(input: x.shape, weight: w.shape, stride: 1, padding: Padding2D(1))
            flopRow("conv3x3 (\(Self.describe(chosen)))", shape, flops: flops) {
                _ = x.conv2d(weight: w, bias: bias, padding: 1)
            }
            guard !chosenOnly else { continue }
            flopRow("  im2col", shape, flops: flops) {
                _ = x.conv2d(weight: w, bias: bias, padding: Padding2D(1), using: .im2col)
            }
            for variant in WinogradVariant.allCases {
                flopRow("  winograd \(Self.describe(.winograd(variant)))", shape, flops: flops) {
                    _ = x.conv2d(weight: w, bias: bias, padding: Padding2D(1), using: .winograd(variant))
                }
                let filter = WinogradFilter(weight: w, variant: variant)
                flopRow("  winograd \(Self.describe(.winograd(variant))), weight pre-transformed", shape, flops: flops) {
                    _ = x.conv2d(winograd: filter, bias: bias, padding: Padding2D(1))
                }
            }
        }
        if !convOnly {
            do {
                let x = rng.tensor([batch, 320, 64, 64]), w = rng.tensor([320, 320, 1, 1], scale: 0.05), bias = rng.tensor([320])
                flopRow("conv1x1", "320->320 @64x64", flops: 2.0 * Double(batch * 320 * 4096) * 320) {
                    _ = x.conv2d(weight: w, bias: bias)
                }
                // VAE-style downsampling conv: pad (0, 1, 0, 1), 3x3 stride 2.
                let pad = Padding2D(left: 0, right: 1, top: 0, bottom: 1), w3 = rng.tensor([320, 320, 3, 3], scale: 0.02)
                flopRow("conv3x3 s2", "320->320 @64x64->32x32", flops: 2.0 * Double(batch * 320 * 32 * 32) * Double(320 * 9)) {
                    _ = x.conv2d(weight: w3, bias: bias, stride: 2, padding: pad)
                }
            }

            // Attention at the 64x64 level: 4096 tokens, 5 heads of 64 (SD2-base), token-major layout.
            let heads = 5, headDim = 64, tokens = 4096, width = heads * headDim
            let q = rng.tensor([batch, tokens, width]), k = rng.tensor([batch, tokens, width]), v = rng.tensor([batch, tokens, width])
            let selfFlops = 2.0 * 2.0 * Double(batch * heads) * Double(tokens) * Double(tokens) * Double(headDim)
            flopRow("self-attention", "\(tokens)x\(tokens), \(heads)x\(headDim)", flops: selfFlops) {
                _ = Tensor.multiHeadAttention(query: q, key: k, value: v, heads: heads)
            }
            let textTokens = 77
            let kText = rng.tensor([batch, textTokens, width]), vText = rng.tensor([batch, textTokens, width])
            let crossFlops = 2.0 * 2.0 * Double(batch * heads) * Double(tokens) * Double(textTokens) * Double(headDim)
            flopRow("cross-attention", "\(tokens)x\(textTokens), \(heads)x\(headDim)", flops: crossFlops) {
                _ = Tensor.multiHeadAttention(query: q, key: kText, value: vText, heads: heads)
            }
            do {
                let x = rng.tensor([batch, tokens, 320]), w = rng.tensor([320, 320], scale: 0.05), bias = rng.tensor([320])
                flopRow("linear", "\(batch * tokens)x320 -> 320", flops: 2.0 * Double(batch * tokens) * 320 * 320) {
                    _ = x.linear(weight: w, bias: bias)
                }
            }

            // Memory-bound operations at 320 channels, 64x64.
            let fmap = rng.tensor([batch, 320, 64, 64]), gamma = rng.tensor([320]), beta = rng.tensor([320])
            let mapBytes = Double(fmap.count * 4)
            byteRow("group norm", "32 groups, 320 @64x64", bytes: 3 * mapBytes) {
                _ = fmap.groupNorm(groups: 32, weight: gamma, bias: beta, eps: 1e-5)
            }
            byteRow("group norm + SiLU", "32 groups, 320 @64x64", bytes: 3 * mapBytes) {
                _ = fmap.groupNorm(groups: 32, weight: gamma, bias: beta, eps: 1e-5, fusedSiLU: true)
            }
            byteRow("SiLU", "320 @64x64", bytes: 2 * mapBytes) { _ = fmap.silu() }
            byteRow("add", "320 @64x64", bytes: 3 * mapBytes) { _ = fmap + fmap }
            let tokenMap = fmap.nchwToTokens()
            byteRow("layer norm", "\(batch * tokens) x 320", bytes: 3 * mapBytes) { _ = tokenMap.layerNorm(weight: gamma, bias: beta) }
            byteRow("NCHW -> tokens", "320 @64x64", bytes: 2 * mapBytes) { _ = fmap.nchwToTokens() }
            let projected = rng.tensor([batch, tokens, 2560])
            byteRow("GEGLU", "\(batch * tokens) x 2560 -> 1280", bytes: Double(projected.count * 4) * 1.5) { _ = projected.geglu() }
            let small = rng.tensor([batch, 1280, 16, 16])
            byteRow("upsample 2x", "1280 @16x16", bytes: Double(small.count * 4) * 5) { _ = small.upsampledNearest2x() }
        }

        sgemmSeconds = min(sgemmSeconds, Self.best { _ = Tensor.matmul(a, b) })
        let measuredPeak = sgemmFlops / sgemmSeconds / 1e9
        for i in rows.indices { rows[i].ofSgemm = rows[i].gflops.map { $0 / measuredPeak } }
        peak = measuredPeak
        rows.insert(Row(name: "sgemm", shape: "\(size)x\(size)x\(size)", seconds: sgemmSeconds, gflops: peak, ofSgemm: 1), at: 0)

        let report = Report(threads: n, sgemmGflops: peak, blasSpinLog2Cycles: spinShortened ? 16 : 28,
                            loadAverage: Self.loadAverage(), rows: rows)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.table(report))
        }
    }

    /// Best wall time after one warm-up: 3 runs, up to 7 while they take under 2 s in all.
    static func best(_ body: () -> Void) -> Double {
        body()
        var best = Double.infinity, total = 0.0, runs = 0
        while runs < 3 || (runs < 7 && total < 2) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            best = min(best, seconds)
            total += seconds
            runs += 1
        }
        return best
    }

    static func describe(_ algorithm: Conv2DAlgorithm) -> String {
        switch algorithm {
        case .pointwise: "1x1 sgemm"
        case .im2col: "im2col"
        case .winograd(.f2x3): "F(2,3)"
        case .winograd(.f4x3): "F(4,3)"
        }
    }

    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }

    static func table(_ report: Report) -> String {
        let load = report.loadAverage.map { String(format: "; load average %.2f", $0) } ?? ""
        var lines = ["ops benchmark: \(report.threads) thread(s), batch 2, SD2-base UNet shapes; sgemm \(String(format: "%.1f", report.sgemmGflops)) GFLOP/s; OpenBLAS idle spin 2^\(report.blasSpinLog2Cycles) cycles\(load)",
                     "",
                     "| operation | shape | seconds | GFLOP/s | of sgemm | GB/s |",
                     "|---|---|---:|---:|---:|---:|"]
        for r in report.rows {
            let g = r.gflops.map { String(format: "%.1f", $0) } ?? ""
            let o = r.ofSgemm.map { String(format: "%.0f%%", $0 * 100) } ?? ""
            let b = r.gbPerSecond.map { String(format: "%.1f", $0) } ?? ""
            lines.append("| \(r.name) | \(r.shape) | \(String(format: "%.4f", r.seconds)) | \(g) | \(o) | \(b) |")
        }
        return lines.joined(separator: "\n")
    }
}

/// Benchmark inputs: uniform in [-scale, scale) from a fixed LCG (timing does not depend on the values).
private struct BenchRandom {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D

    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        var scalars = [Float](repeating: 0, count: n)
        for i in 0..<n {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            scalars[i] = scale * (Float(state >> 40) / Float(1 << 23) - 1)
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}
