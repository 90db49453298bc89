import ArgumentParser
import Bench
import Stages
import Dispatch
import Foundation
import Support
import Diffusion
import Imaging
import Tensors

/// `dataengine generate`: one img2img run (noise-and-denoise) on one image.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Noise and denoise one image with a Stable Diffusion model folder (diffusers' img2img).",
        discussion: """
            Encodes IN.jpg with the model's VAE, noises the latent to the strength ("encode ratio") of the \
            schedule, denoises it with the prompt and classifier-free guidance, and writes OUT.jpg: exactly \
            diffusers' StableDiffusionImg2ImgPipeline with the same noise. The image is resized to a multiple \
            of the VAE factor (8 for SD) first when needed (--size sets the size).

            Randomness comes from --seed, or from --noise FILE.safetensors with the keys
              posterior_noise   (1, 4, h, w)  the VAE posterior sample (mean + std * noise)
              latent_noise      (1, 4, h, w)  added at the first kept timestep
              step_noise.<i>    (1, 4, h, w)  DDIM or TCD with --eta > 0, LCM: the noise of kept step i (from 0)
            (h, w = image size / VAE factor), so other implementations can be compared exactly; --dump-noise \
            writes the ones a seeded run used. --dump-latents writes reference_latent, noised, step.<i>, \
            final_latent and timesteps; --dump-taps the adapter's feature taps of the last step (stride<s>, \
            taps_timestep; see docs/taps.md).

            Schedulers: dpm-solver++ (DiffusionEngine's paper: 2M, 30 steps), ddim (the authors' code: 50 \
            steps, eta 0.1-0.4), euler (diffusers' EulerDiscreteScheduler: SD-Turbo's, with trailing spacing in \
            its folder, runs 1-4 steps at guidance 0), lcm (with an LCM-LoRA: 2-8 steps) or tcd (with the TCD \
            LoRA: 2-8 steps, --eta is its gamma); other settings come from the model's \
            scheduler/scheduler_config.json. --lora fuses LoRAs at load, --tiny-vae swaps in TAESD.

            Examples:
              dataengine generate --model models/demo \\
                --image data/demo/coco/train/000000000001.jpg \\
                --prompt "two red circles" --strength 0.5 --out out.jpg
              dataengine generate --model ~/sd2-base --image in.jpg --prompt "a dog" \\
                --scheduler ddim --steps 50 --eta 0.3 --seed 7 \\
                --dump-taps taps.safetensors --out out.jpg
            """)

    @Option(help: "A diffusers Stable Diffusion 1.x/2.x folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/).")
    var model: String

    @Option(help: "The reference image (JPEG).")
    var image: String

    @Option(help: "The text prompt.")
    var prompt: String

    @Option(help: "The negative prompt (the unconditional half of guidance).")
    var negativePrompt = ""

    @Option(help: "Encode ratio in (0, 1]: the fraction of the schedule that runs (1.0: almost pure noise).")
    var strength = 0.5

    @Option(help: "Inference steps of the full schedule (about strength x steps run).")
    var steps = 30

    @Option(help: "Classifier-free guidance scale (<= 1: no guidance).")
    var guidance: Float = 7.5

    @Option(help: "Scheduler: dpm-solver++, ddim, euler, lcm or tcd.")
    var scheduler: GenerateConfig.Scheduler = .dpmSolverPlusPlus

    @Option(help: ArgumentHelp("A LoRA to fuse into the model (diffusers' or kohya's layout), at SCALE (default 1); repeatable.",
                               valueName: "path[:scale]"))
    var lora: [String] = []

    @Option(name: .customLong("tiny-vae"), help: ArgumentHelp("A TAESD folder (diffusers AutoencoderTiny, e.g. madebyollin/taesd): encode and decode with it instead of the model's VAE.",
                               valueName: "path"))
    var tinyVAE: String?

    @Option(help: "DDIM's eta (0 = deterministic).")
    var eta = 0.0

    @Option(help: "Seed of the noise (ignored with --noise).")
    var seed: UInt64 = 0

    @Option(help: "Noise tensors to use instead of --seed (safetensors; keys above).")
    var noise: String?

    @Flag(help: "Use the VAE posterior's mean as the reference latent instead of a sample.")
    var latentMean = false

    @Option(help: "Resize the image to WIDTHxHEIGHT first (multiples of the VAE factor), e.g. 512x512.")
    var size: String?

    @Option(help: "Where to write the generated image (JPEG).")
    var out: String

    @Option(help: "Write the latents of every step (safetensors).")
    var dumpLatents: String?

    @Option(help: "Write the feature taps of the last step (safetensors).")
    var dumpTaps: String?

    @Option(help: "Write the noise tensors the run used (safetensors, the --noise keys).")
    var dumpNoise: String?

    @Option(help: "Threads for OpenBLAS and the tensor operations (default: the number of cores).")
    var threads: Int?

    /// Checks the numbers and the output folder before minutes of compute.
    func validate() throws {
        guard guidance.isFinite, guidance >= 0, Double(guidance) <= GenerateConfig.maxGuidance else {
            throw ValidationError("--guidance \(guidance): expected 0...\(GenerateConfig.maxGuidance) (7.5 is usual; <= 1 turns guidance off)")
        }
        guard strength.isFinite, strength > 0, strength <= 1 else { throw ValidationError("--strength \(strength): expected a number in (0, 1]") }
        guard steps >= 1, steps <= 1000 else { throw ValidationError("--steps \(steps): expected 1...1000") }
        guard eta.isFinite, (0...1).contains(eta) else { throw ValidationError("--eta \(eta): expected a number in [0, 1]") }
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw ValidationError("--out \(out): the folder \(folder) does not exist; create it first")
        }
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw ValidationError("--out \(out): the folder \(folder) is not writable")
        }
    }

    @OptionGroup var winogradCache: WinogradCacheOption

    func run() throws {
        winogradCache.apply()
        let n = threads ?? AvailableCPUs.current.count
        ComputeBudget.apply(threadsPerWorker: n)
        func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        let start = now()
        log("loading \(model)")
        let loras = try lora.map { spec -> (LoRAWeights, Float) in
            guard let choice = GenerateLoRAConfig(argument: spec) else { throw ValidationError("--lora takes PATH or PATH:SCALE") }
            return (try LoRAWeights(url: URL(fileURLWithPath: choice.path)), Float(choice.scale))
        }
        var pipeline = try StableDiffusionImg2ImgPipeline(folder: URL(fileURLWithPath: model), loras: loras)
        if let tinyVAE {
            pipeline = try pipeline.attaching(tinyVAE: try AutoencoderTiny(folder: URL(fileURLWithPath: tinyVAE)), file: tinyVAE)
        }
        let decoded = try JPEG.decode(contentsOf: URL(fileURLWithPath: image))
        let rgb = try resizedInput(decoded.image, factor: pipeline.vaeScaleFactor)
        let input = Img2ImgResult.imageTensor(rgb: rgb.pixels, width: rgb.width, height: rgb.height)
        var settings = Img2ImgSettings(prompt: prompt, negativePrompt: negativePrompt, strength: strength, steps: steps,
                                       guidanceScale: guidance, scheduler: scheduler.engine, eta: eta, useLatentMean: latentMean)
        if tinyVAE != nil { (settings.encodeVAE, settings.decodeVAE) = (.tiny, .tiny) }
        let noiseSource = try noise.map { try DiffusionNoise(file: URL(fileURLWithPath: $0)) } ?? DiffusionNoise(seed: seed)
        let loopStart = now()
        log("loaded in \(String(format: "%.1f", loopStart - start)) s; \(rgb.width)x\(rgb.height), \(scheduler.rawValue), strength \(strength) of \(steps) steps")
        let result = try pipeline(image: input, settings: settings, noise: noiseSource, recordSteps: dumpLatents != nil,
                                  taps: dumpTaps != nil) { step, total in
            let elapsed = now() - loopStart
            let eta = elapsed / Double(step) * Double(total - step)
            log(String(format: "step %d/%d  %.2f s/step  ETA %.0f s", step, total, elapsed / Double(step), eta))
        }
        let output = RGBImage(width: rgb.width, height: rgb.height, pixels: try result.rgbBytes())
        try JPEG.write(output, to: URL(fileURLWithPath: out))
        if let dumpLatents {
            var tensors: [String: Tensor] = ["reference_latent": result.referenceLatent, "noised": result.noised,
                                             "final_latent": result.finalLatent,
                                             "timesteps": Tensor(shape: [result.timesteps.count], scalars: result.timesteps.map(Float.init))]
            for (i, latent) in result.stepLatents.enumerated() { tensors["step.\(i)"] = latent }
            try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: dumpLatents))
        }
        if let dumpTaps, let taps = result.taps {
            var tensors = Dictionary(uniqueKeysWithValues: taps.namedTensors)
            tensors["taps_timestep"] = Tensor(shape: [1], scalars: [taps.timestep])
            try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: dumpTaps),
                                        metadata: ["taps_timestep": String(taps.timestep), "definition": "docs/taps.md"])
        }
        if let dumpNoise {
            let shape = result.referenceLatent.shape
            var tensors: [String: Tensor] = [DiffusionNoise.latentKey: try noiseSource.tensor(DiffusionNoise.latentKey, shape: shape)]
            if !latentMean { tensors[DiffusionNoise.posteriorKey] = try noiseSource.tensor(DiffusionNoise.posteriorKey, shape: shape) }
            if settings.drawsStepNoise {
                for i in result.timesteps.indices { tensors[DiffusionNoise.stepKey(i)] = try noiseSource.tensor(DiffusionNoise.stepKey(i), shape: shape) }
            }
            try SafeTensorsWriter.write(tensors, to: URL(fileURLWithPath: dumpNoise))
        }
        log(String(format: "wrote %@ (%d steps at t = %@) in %.1f s", out, result.timesteps.count,
                   result.timesteps.map(String.init).joined(separator: ", "), now() - start))
    }

    /// The image at --size, or rounded down to a multiple of the VAE factor (as diffusers' image processor does).
    private func resizedInput(_ rgb: RGBImage, factor: Int) throws -> RGBImage {
        var (w, h) = (rgb.width / factor * factor, rgb.height / factor * factor)
        if let size {
            let parts = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] > 0, parts[0] % factor == 0, parts[1] % factor == 0 else {
                throw ValidationError("--size \(size): expected WIDTHxHEIGHT with multiples of \(factor), e.g. 512x512")
            }
            (w, h) = (parts[0], parts[1])
        }
        guard w > 0, h > 0 else {
            throw ValidationError("\(image): \(rgb.width)x\(rgb.height) is smaller than the VAE factor \(factor); use a larger image or --size")
        }
        return (w, h) == (rgb.width, rgb.height) ? rgb : rgb.resized(width: w, height: h)
    }

    private func log(_ message: String) { FileHandle.standardError.write(Data((message + "\n").utf8)) }
}

/// `--scheduler` takes the pipeline file's names (`GenerateConfig.Scheduler`), one list for both.
extension GenerateConfig.Scheduler: ExpressibleByArgument {}
