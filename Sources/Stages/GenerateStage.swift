import Datasets
import Diffusion
import Foundation
import Imaging
import Tensors
import Support
import Pipeline

public struct GenerateConfig: StageConfig, Equatable {
    public enum Scheduler: String, ConfigEnum {
        case dpmSolverPlusPlus = "dpm-solver++"
        case ddim
        /// diffusers' EulerDiscreteScheduler with the model's scheduler config (SD-Turbo: trailing, 1-4 steps).
        case euler
        /// diffusers' LCMScheduler (with an LCM-LoRA or an LCM model; 2-8 steps, guidance 0-2).
        case lcm
        /// diffusers' TCDScheduler (with the TCD LoRA; 2-8 steps, guidance 0; `eta` is its gamma, 0.3 in its examples).
        case tcd

        public var engine: SchedulerType {
            switch self {
            case .dpmSolverPlusPlus: return .dpmSolverMultistep
            case .ddim: return .ddim
            case .euler: return .eulerDiscrete
            case .lcm: return .lcm
            case .tcd: return .tcd
            }
        }
        /// The paper runs DPM-Solver++ for 30 steps; the authors' code DDIM for 50; Euler 30 like the paper; LCM
        /// and TCD 4, as their examples.
        var defaultSteps: Int {
            switch self {
            case .ddim: return 50
            case .dpmSolverPlusPlus, .euler: return 30
            case .lcm, .tcd: return 4
            }
        }
    }

    /// The diffusers model folder (SD 1.x/2.x layout; ../models/demo is the shipped demo model).
    public var model: String = ""
    /// Generated variants per reference image.
    public var variants: Int = 2
    /// The encode ratio (diffusers' strength) of each variant, drawn uniformly from this range (the paper:
    /// 0.3-1.0; the authors' code: 0.4-0.8 for photos, 0.7-0.9 for clipart).
    public var encodeRatio = ValueRange(0.3, 1.0)
    /// Classifier-free guidance scale, one value or a range to draw from (the paper: 7.5).
    public var guidance = ValueRange(7.5)
    /// DDIM's eta and TCD's gamma, one value or a range (the other schedulers ignore it).
    public var eta = ValueRange(0)
    public var scheduler: Scheduler = .dpmSolverPlusPlus
    /// Steps of the full schedule (default 30 for dpm-solver++, 50 for ddim); about ratio x steps of them run.
    public var steps: Int?
    /// The square the reference is resized (short side) and randomly cropped to: SD2-base's native 512 (the
    /// authors' config; the paper's text says 768, SD2-v's size).
    public var size: Int = 512
    /// A reference box cut by the crop is clipped, and dropped when less than this share of it remains.
    public var minBoxVisible: Double = 0.5
    public var jpegQuality: Int = 95
    public var prompt = PromptConfig()
    /// The VAE that encodes and the one that decodes (`kl`, the model's; `tiny`, a TAESD folder).
    public var vae = GenerateVAEConfig()
    /// LoRAs fused into the model at load (`[{path, scale}]`), e.g. TCD's for SD 2.1 base.
    public var lora: [GenerateLoRAConfig] = []
    /// DeepCache (`deep_cache: {interval}`); nil: off.
    public var deepCache: GenerateDeepCacheConfig?

    public init() {}

    /// The largest guidance scale a pipeline may ask for (SD is used with 1-20; far above, images blow up to NaN).
    public static let maxGuidance = 50.0

    public var resolvedSteps: Int { steps ?? scheduler.defaultSteps }

    enum CodingKeys: String, CodingKey {
        case model, variants, encodeRatio = "encode_ratio", guidance, eta, scheduler, steps, size, vae, lora
        case deepCache = "deep_cache"
        case minBoxVisible = "min_box_visible", jpegQuality = "jpeg_quality", prompt
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        model = try c.decode(String.self, forKey: .model)
        try c.decodeIfPresent(.variants, into: &variants)
        try c.decodeIfPresent(.encodeRatio, into: &encodeRatio)
        try c.decodeIfPresent(.guidance, into: &guidance)
        try c.decodeIfPresent(.eta, into: &eta)
        try c.decodeIfPresent(.scheduler, into: &scheduler)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        try c.decodeIfPresent(.size, into: &size)
        try c.decodeIfPresent(.minBoxVisible, into: &minBoxVisible)
        try c.decodeIfPresent(.jpegQuality, into: &jpegQuality)
        try c.decodeIfPresent(.prompt, into: &prompt)
        try c.decodeIfPresent(.vae, into: &vae)
        try c.decodeIfPresent(.lora, into: &lora)
        deepCache = try c.decodeIfPresent(GenerateDeepCacheConfig.self, forKey: .deepCache)
        func fail(_ key: CodingKeys, _ message: String) -> DecodingError { .dataCorruptedError(forKey: key, in: c, debugDescription: message) }
        guard (1..<GeneratedIds.maxVariants).contains(variants) else { throw fail(.variants, "variants is 1...\(GeneratedIds.maxVariants - 1)") }
        guard encodeRatio.lower > 0, encodeRatio.upper <= 1 else {
            throw fail(.encodeRatio, "encode_ratio lies in (0, 1]: the share of the schedule that is run (the paper draws from [0.3, 1.0])")
        }
        guard guidance.lower >= 0, guidance.upper <= Self.maxGuidance else {
            throw fail(.guidance, "guidance is 0...\(Self.maxGuidance) (7.5 in the paper; <= 1 turns classifier-free guidance off; larger values make NaN images)")
        }
        guard eta.lower >= 0, eta.upper <= 1 else { throw fail(.eta, "eta lies in [0, 1] (0: deterministic DDIM)") }
        guard (1...1000).contains(resolvedSteps) else { throw fail(.steps, "steps is 1...1000 (30 for dpm-solver++ and euler, 50 for ddim; 1-4 for SD-Turbo with euler, 2-8 for lcm and tcd)") }
        guard Int(Double(resolvedSteps) * encodeRatio.lower) >= 1 else {
            throw fail(.encodeRatio, "encode_ratio \(encodeRatio.lower) of \(resolvedSteps) steps runs no denoising step (diffusers runs int(steps x ratio) = 0): "
                           + "use an encode_ratio of at least \(String(format: "%.3g", 1 / Double(resolvedSteps))) or more steps")
        }
        guard size >= 8, size % 8 == 0 else { throw fail(.size, "size is a multiple of 8 (the VAE's factor): 512 for SD2-base, 128 for the demo model") }
        guard (0...1).contains(minBoxVisible) else { throw fail(.minBoxVisible, "min_box_visible is a share between 0 and 1") }
        guard (1...100).contains(jpegQuality) else { throw fail(.jpegQuality, "jpeg_quality is 1...100") }
    }

    public func resolvingPaths(against base: URL) -> GenerateConfig {
        var copy = self
        copy.model = absolutePath(model, base: base)
        copy.vae.tiny = vae.tiny.map { absolutePath($0, base: base) }
        copy.lora = lora.map { GenerateLoRAConfig(path: absolutePath($0.path, base: base), scale: $0.scale) }
        return copy
    }

    public var dependencies: [String] { [model] + (vae.usesTiny ? vae.tiny.map { [$0] } ?? [] : []) + lora.map(\.path) }
}

/// What generate hands to the fused label stage for each item, in memory (tens of MB at SD2 size, never stored).
public struct GeneratedFeatures: Sendable {
    public var taps: UNetFeatureTaps
    public var modelFolder: String
    /// The generated image as written (before JPEG), for adapters that also read the VAE encoder.
    public var generated: RGBImage
    /// The LoRAs fused into the model (the label stage asks the model cache for the same pipeline).
    public var loras: [GenerateLoRAConfig]
    /// What the `final-latent` label mode needs: the run's final latent, settings and noise seed.
    public var finalLatent: Tensor
    public var settings: Img2ImgSettings
    public var noiseSeed: UInt64
}

/// DiffusionEngine's noise-and-denoise. Per reference and variant, from a seed derived from the run seed, the
/// reference id and the variant: an encode ratio (and guidance, eta) from their ranges, a random square crop,
/// a prompt, the noise. The engine encodes the crop, noises it to the ratio, denoises with the prompt under
/// classifier-free guidance, and decodes; the image goes to the stage's work folder, the UNet's feature taps
/// of the last step go to `label` in memory. The reference's boxes follow the crop into `referenceAnnotations`.
public final class GenerateStage: HandOverStage {
    public let config: GenerateConfig

    public init(config: GenerateConfig) { self.config = config }

    public func produce(_ input: UnitOutput, context: StageContext) throws -> HandedOver<GeneratedFeatures> {
        try produce(input, variants: 0..<config.variants, context: context)
    }

    /// Generates the given variants of every input item (category quotas ask for variants after the planned ones).
    public func produce(_ input: UnitOutput, variants: Range<Int>, context: StageContext) throws -> HandedOver<GeneratedFeatures> {
        var handed = HandedOver<GeneratedFeatures>()
        ComputeBudget.apply(threadsPerWorker: context.computeThreads)
        var pipeline = try context.models.pipeline(config.model, loras: config.lora, stage: context.stageId)
        if config.vae.usesTiny, let tiny = config.vae.tiny {
            let taesd = try context.models.tinyVAE(tiny, stage: context.stageId)
            pipeline = try ModelCache.describingErrors(stage: context.stageId, folder: tiny) { try pipeline.attaching(tinyVAE: taesd, file: tiny) }
        }
        guard config.size % pipeline.vaeScaleFactor == 0 else {
            throw StageError(stage: context.stageId, message: "size \(config.size) is not a multiple of the model's VAE factor \(pipeline.vaeScaleFactor)",
                             hint: "choose a size divisible by \(pipeline.vaeScaleFactor)")
        }
        let work = try context.requireWorkDirectory()
        let prompts = PromptBuilder(config: config.prompt, categories: context.meta.categories)
        var nonFinite = NonFiniteGuard(what: "generated images")
        for reference in input.items {
            let image: RGBImage
            do {
                image = try JPEG.decodeFile(atPath: reference.sourcePath).image
            } catch let error as ImagingError {
                handed.output.drop(reference, reason: "corrupt-image", message: "\(error)")
                handed.output.issues.append(LoadIssue(kind: .corruptImage, file: reference.sourcePath, record: reference.label, message: "\(error); skipped"))
                continue
            }
            for variant in reference.plannedVariant.map({ $0..<($0 + 1) }) ?? variants {
                if context.isCancelled() { throw CancellationError() }
                do {
                    let (item, features) = try generate(reference, image: image, variant: variant, pipeline: pipeline, prompts: prompts,
                                                        work: work, context: context)
                    handed.append(item, features)
                    nonFinite.reset()
                } catch let error as NonFiniteOutputError {
                    let id = GeneratedIds.image(reference: reference.image.id, variant: variant)
                    let name = GeneratedIds.fileName(referenceFileName: reference.image.fileName, variant: variant)
                    handed.output.dropped.append(DroppedItem(imageId: id, fileName: name, reason: NonFiniteGuard.reason,
                                                             message: "variant \(variant) of \(reference.label): \(error)"))
                    try nonFinite.record("variant \(variant) of \(reference.label)", stage: context.stageId)
                }
            }
            handed.output.count("references")
        }
        handed.output.count("images-generated", handed.output.items.count)
        return handed
    }

    func generate(_ reference: DatasetItem, image: RGBImage, variant: Int, pipeline: StableDiffusionImg2ImgPipeline,
                  prompts: PromptBuilder, work: URL, context: StageContext) throws -> (DatasetItem, GeneratedFeatures) {
        var random = context.random(reference.image.id, variant)
        let ratio = config.encodeRatio.draw(&random)
        let guidance = config.guidance.draw(&random)
        let eta = config.eta.draw(&random)
        let crop = ReferenceCrop(width: image.width, height: image.height, size: config.size, random: &random)
        let gid = GeneratedIds.image(reference: reference.image.id, variant: variant)
        let boxes = crop.move(reference.annotations, reference: reference.image.id, variant: variant, minVisible: config.minBoxVisible)
        var cropped = reference
        cropped.annotations = boxes
        let prompt = try prompts.prompt(for: cropped, size: config.size, random: &random)
        let noiseSeed = context.seed("noise", reference.image.id, variant)
        var settings = Img2ImgSettings(prompt: prompt, negativePrompt: config.prompt.negative, strength: ratio, steps: config.resolvedSteps,
                                       guidanceScale: Float(guidance), scheduler: config.scheduler.engine, eta: eta)
        settings.encodeVAE = config.vae.encode.engine
        settings.decodeVAE = config.vae.decode.engine
        settings.deepCacheInterval = config.deepCache?.interval ?? 1
        let pixels = try crop.apply(to: image)
        let tensor = Img2ImgResult.imageTensor(rgb: pixels.pixels, width: pixels.width, height: pixels.height)
        let result = try pipeline(image: tensor, settings: settings, noise: DiffusionNoise(seed: noiseSeed), taps: true)
        var clock = PhaseClock()
        let generated = RGBImage(width: config.size, height: config.size, pixels: try result.rgbBytes())
        let fileName = GeneratedIds.fileName(referenceFileName: reference.image.fileName, variant: variant)
        let destination = work.appendingPathComponent(fileName)
        try AtomicFile.write(try JPEG.encode(generated, quality: config.jpegQuality), to: destination)
        clock.lap("write")
        context.timings.add(result.seconds)
        context.timings.add(clock.laps)
        context.timings.count("generated-images")
        let tapTimestep = result.timesteps.last ?? 0
        let provenance = Provenance(referenceImageId: reference.image.id, variant: variant, seed: noiseSeed, encodeRatio: ratio,
                                    guidance: guidance, scheduler: config.scheduler.rawValue, steps: config.resolvedSteps,
                                    tapTimestep: tapTimestep, prompt: prompt)
        let info = ImageInfo(id: gid, fileName: fileName, width: config.size, height: config.size, provenance: provenance)
        let captions = prompts.config.source == .template || prompts.config.source == .detdiffusion || reference.captions.isEmpty ? [] : [prompt]
        var item = DatasetItem(image: info, sourcePath: destination.path, annotations: [], captions: captions, referenceAnnotations: boxes)
        item.reference = ReferenceSnapshot(reference)
        guard let taps = result.taps else {
            throw StageError(stage: context.stageId, message: "the engine returned no feature taps for \(reference.label)")
        }
        return (item, GeneratedFeatures(taps: taps, modelFolder: config.model, generated: generated, loras: config.lora, finalLatent: result.finalLatent,
                                        settings: settings, noiseSeed: noiseSeed))
    }
}
