import ArgumentParser
import Dispatch
import Foundation
import Support
import Diffusion
import Tensors

/// `dataengine bench vae`: the KL VAE of SD 1.x/2.x against TAESD, encode and decode, synthetic weights, one run.
struct BenchVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae",
        abstract: "Time the SD VAE (AutoencoderKL) against TAESD (AutoencoderTiny): encode and decode, synthetic weights.",
        discussion: """
            Builds both VAEs at their real configurations (SD 1.x/2.x's AutoencoderKL, madebyollin/taesd's \
            AutoencoderTiny) with made-up weights (nothing is read or downloaded), then times encoding a \
            (1, 3, size, size) image and decoding its (1, 4, size/8, size/8) latent with each, one after the \
            other in this process, after one warm-up call each. Prints the best of the timed calls, the \
            ratios TAESD / KL and the process's peak resident memory.

            Examples:
              dataengine bench vae --size 256 --runs 1
              dataengine bench vae --size 512 --runs 2
            """)

    @Option(help: "Image side in pixels (a multiple of 8; 512 for SD2-base).")
    var size = 512

    @Option(help: "Timed calls per measurement after one warm-up call.")
    var runs = 2

    @Option(help: "Threads for OpenBLAS and the tensor operations (default: the number of cores).")
    var threads: Int?

    func validate() throws {
        guard size >= 8, size % 8 == 0 else { throw ValidationError("--size must be a positive multiple of 8") }
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        let n = threads ?? AvailableCPUs.current.count
        ComputeBudget.apply(threadsPerWorker: n)
        let kl = try AutoencoderKL(config: AutoencoderKLConfig(), weights: .synthetic(seed: 1))
        let tiny = try AutoencoderTiny(config: try AutoencoderTinyConfig(ComponentConfig(file: "TAESD (synthetic)", values: [:])),
                                       weights: .synthetic(seed: 2))
        let image = GaussianNoiseSample.tensor([1, 3, size, size], seed: 3)
        let latent = GaussianNoiseSample.tensor([1, 4, size / 8, size / 8], seed: 4)
        func best(_ name: String, _ call: () -> Tensor) -> Double {
            _ = call()
            let times = (0..<runs).map { _ in
                let start = DispatchTime.now().uptimeNanoseconds
                precondition(call().scalars.allSatisfy(\.isFinite), "bench vae: non-finite output of \(name)")
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            FileHandle.standardError.write(Data("\(name): \(times.map { String(format: "%.3f", $0) }.joined(separator: ", ")) s\n".utf8))
            return times.min()!
        }
        let klEncode = best("KL encode") { kl.encode(image).mean }
        let klDecode = best("KL decode") { kl.decode(latent) }
        let tinyEncode = best("TAESD encode") { tiny.encode(image) }
        let tinyDecode = best("TAESD decode") { tiny.decode(latent) }
        print("VAE at \(size)x\(size), \(n) threads, best of \(runs) (load average "
              + ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?") + ")")
        print(String(format: "  encode: KL %.3f s, TAESD %.3f s (%.3fx)", klEncode, tinyEncode, tinyEncode / klEncode))
        print(String(format: "  decode: KL %.3f s, TAESD %.3f s (%.3fx)", klDecode, tinyDecode, tinyDecode / klDecode))
        print("  peak RSS: \(ProcessMemory.format(ProcessMemory.peakResident ?? 0)) (the whole process, both VAEs)")
    }
}
