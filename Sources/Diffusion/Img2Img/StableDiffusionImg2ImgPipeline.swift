import Foundation
import Tensors

/// diffusers' `StableDiffusionImg2ImgPipeline` on a diffusers SD 1.x / 2.x folder, with the randomness given
/// (`DiffusionNoise`) and the adapter's feature taps (DiffusionEngine's noise-and-denoise):
///
///     embeds = [text_encoder(negative), text_encoder(prompt)]            (just the prompt without guidance)
///     ref    = (posterior.mean + posterior.std * posterior_noise) * scaling_factor    (or the mean)
///     cut    = get_timesteps(steps, strength);  x = scheduler.add_noise(ref, latent_noise, cut[0])
///     for t in cut:  e_u, e_c = unet([x, x], t, embeds);  e = e_u + g * (e_c - e_u);  x = scheduler.step(e, t, x)
///     image  = vae.decode(x / scaling_factor)
///
/// The taps come from the last step's UNet call, conditional element, without an extra call.
public struct StableDiffusionImg2ImgPipeline: Sendable {
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let vae: AutoencoderKL
    public let unet: UNet2DConditionModel
    /// `scheduler/scheduler_config.json`; each run builds its scheduler from it plus the settings' overrides.
    public let schedulerFile: ComponentConfig
    /// A TAESD for runs whose settings encode or decode with `.tiny` (`attaching(tinyVAE:)`).
    public private(set) var tinyVAE: AutoencoderTiny?

    /// The image size must be a multiple of this (2^(VAE levels - 1); 8 for SD).
    public var vaeScaleFactor: Int { vae.config.downscaleFactor }

    public init(tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel, vae: AutoencoderKL, unet: UNet2DConditionModel,
                schedulerFile: ComponentConfig) {
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.vae = vae
        self.unet = unet
        self.schedulerFile = schedulerFile
    }

    /// Loads tokenizer, text_encoder, vae, unet and the scheduler config of a diffusers pipeline folder, with
    /// `loras` fused into the UNet and the text encoder (each at its scale), as diffusers' `load_lora_weights` +
    /// `fuse_lora(lora_scale=)` does.
    public init(folder: URL, prefer variant: WeightVariant = .full, loras: [(LoRAWeights, Float)] = []) throws {
        let model = try ModelFolder(url: folder)
        let tokenizer = try CLIPTokenizer(folder: try model.component("tokenizer").url)
        func fused(_ name: String) throws -> (ComponentFolder, WeightLoader) {
            let component = try model.component(name)
            var weights = try component.weights(prefer: variant)
            for (lora, scale) in loras where lora.adapts(name) {
                weights = try weights.adding(try lora.deltas(name, scale: scale, for: weights), from: lora.file)
            }
            return (component, weights)
        }
        let (textComponent, textWeights) = try fused("text_encoder")
        let textEncoder = try CLIPTextModel(config: try CLIPTextConfig(textComponent.config()), weights: textWeights)
        let vae = try AutoencoderKL(modelFolder: model, prefer: variant)
        let (unetComponent, unetWeights) = try fused("unet")
        let unet = try UNet2DConditionModel(config: try UNet2DConditionModelConfig(unetComponent.config()), weights: unetWeights)
        let schedulerFile = try SchedulerConfig.readFile(try model.component("scheduler").configURL())
        guard unet.config.crossAttentionDim[0] == textEncoder.config.hiddenSize else {
            throw ModelLoadError(file: folder.appendingPathComponent("unet/config.json").path, key: "cross_attention_dim",
                                 message: "\(unet.config.crossAttentionDim[0]), but the text encoder's hidden size is \(textEncoder.config.hiddenSize)",
                                 hint: "the unet and text_encoder folders come from different models")
        }
        guard unet.config.inChannels == vae.config.latentChannels else {
            throw ModelLoadError(file: folder.appendingPathComponent("unet/config.json").path, key: "in_channels",
                                 message: "\(unet.config.inChannels), but the VAE has \(vae.config.latentChannels) latent channels",
                                 hint: "the unet and vae folders come from different models (inpainting UNets with 9 input channels are not supported)")
        }
        self.init(tokenizer: tokenizer, textEncoder: textEncoder, vae: vae, unet: unet, schedulerFile: schedulerFile)
    }

    /// This pipeline with a TAESD to encode and/or decode with (settings' `encodeVAE` / `decodeVAE`). It must share
    /// the KL VAE's latent channels and spatial factor (TAESD is trained to the same latent space).
    public func attaching(tinyVAE taesd: AutoencoderTiny, file: String) throws -> StableDiffusionImg2ImgPipeline {
        guard taesd.config.latentChannels == vae.config.latentChannels else {
            throw ModelLoadError(file: file, key: "latent_channels", message: "\(taesd.config.latentChannels), but the model's VAE has \(vae.config.latentChannels)",
                                 hint: "use the TAESD made for this model family (madebyollin/taesd for SD 1.x/2.x)")
        }
        guard taesd.config.downscaleFactor == vae.config.downscaleFactor else {
            throw ModelLoadError(file: file, key: "encoder_block_out_channels",
                                 message: "a spatial factor of \(taesd.config.downscaleFactor), but the model's VAE has \(vae.config.downscaleFactor)",
                                 hint: "use the TAESD made for this model family (madebyollin/taesd for SD 1.x/2.x)")
        }
        var copy = self
        copy.tinyVAE = taesd
        return copy
    }

    /// The scheduler a run with `settings` uses.
    public func schedulerConfig(_ settings: Img2ImgSettings) throws -> SchedulerConfig {
        try SchedulerConfig(schedulerFile, for: settings.scheduler, overrides: settings.schedulerOverrides)
    }

    /// The text conditioning: (2, 77, hidden) = [negative, prompt] with guidance, else (1, 77, hidden).
    public func encodePrompt(_ settings: Img2ImgSettings) throws -> Tensor {
        try textEncoder.encode(settings.classifierFreeGuidance ? [settings.negativePrompt, settings.prompt] : [settings.prompt],
                               tokenizer: tokenizer)
    }

    /// The reference latent of `image` (1, 3, H, W) in [-1, 1], times scaling_factor.
    public func referenceLatent(_ image: Tensor, noise: DiffusionNoise, useMean: Bool) throws -> Tensor {
        try referenceLatent(image, noise: noise, useMean: useMean, keepingEncoderMidBlock: false).latent
    }

    /// The reference latent by the VAE the settings name: TAESD's deterministic latents times its scaling_factor
    /// (diffusers' `retrieve_latents` takes `.latents`; no posterior noise is drawn), or the KL VAE's.
    func referenceLatent(_ image: Tensor, settings: Img2ImgSettings, noise: DiffusionNoise) throws -> Tensor {
        guard settings.encodeVAE == .tiny else { return try referenceLatent(image, noise: noise, useMean: settings.useLatentMean) }
        try checkImage(image)
        let taesd = try requireTinyVAE("encode")
        return taesd.encode(image) * taesd.scalingFactor
    }

    /// The image of final latents by the VAE the settings name.
    func decode(_ latents: Tensor, settings: Img2ImgSettings) throws -> Tensor {
        guard settings.decodeVAE == .tiny else { return vae.decode(latents / vae.scalingFactor) }
        let taesd = try requireTinyVAE("decode")
        return taesd.decode(latents / taesd.scalingFactor)
    }

    private func requireTinyVAE(_ use: String) throws -> AutoencoderTiny {
        guard let tinyVAE else {
            throw EngineInputError(input: "settings", message: "the settings \(use) with the tiny VAE but the pipeline has none",
                                   hint: "give a TAESD folder (pipeline `vae: {tiny: PATH}`, `generate --tiny-vae PATH`)")
        }
        return tinyVAE
    }

    /// The same, and the VAE encoder's mid-block output of that pass when asked for.
    public func referenceLatent(_ image: Tensor, noise: DiffusionNoise, useMean: Bool,
                                keepingEncoderMidBlock: Bool) throws -> (latent: Tensor, encoderMidBlock: Tensor?) {
        try checkImage(image)
        let (posterior, midBlock): (DiagonalGaussianDistribution, Tensor?) =
            keepingEncoderMidBlock ? vae.encodeKeepingMidBlock(image) : (vae.encode(image), nil)
        let latent = useMean ? posterior.mean : posterior.sample(noise: try noise.tensor(DiffusionNoise.posteriorKey, shape: posterior.mean.shape))
        return (latent * vae.scalingFactor, midBlock)
    }

    /// The VAE encoder's mid-block output of an image (1, 3, H, W) in [-1, 1] (a generated image, for adapters
    /// with `vae_encoder_taps`).
    public func encoderMidBlock(_ image: Tensor) throws -> Tensor {
        try checkImage(image)
        return vae.encodeKeepingMidBlock(image).midBlock
    }

    /// Runs img2img. `progress(step, of)` is called after each step.
    public func callAsFunction(image: Tensor, settings: Img2ImgSettings, noise: DiffusionNoise, recordSteps: Bool = false,
                               taps: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> Img2ImgResult {
        let scheduler = try schedulerConfig(settings).makeScheduler(eta: settings.eta)
        return try run(scheduler, image: image, settings: settings, noise: noise, recordSteps: recordSteps, taps: taps, progress: progress)
    }

    private func run<S: DiffusionScheduler>(_ scheduler: S, image: Tensor, settings: Img2ImgSettings, noise: DiffusionNoise,
                                            recordSteps: Bool, taps wantTaps: Bool, progress: ((Int, Int) -> Void)?) throws -> Img2ImgResult {
        var scheduler = scheduler
        var clock = PhaseClock()
        let cut = try Img2ImgTimesteps.prepare(&scheduler, steps: settings.steps, strength: settings.strength)
        let embeddings = try encodePrompt(settings)
        clock.lap("text")
        let reference = try referenceLatent(image, settings: settings, noise: noise)
        clock.lap("encode")
        let noised = scheduler.addNoise(original: reference, noise: try noise.tensor(DiffusionNoise.latentKey, shape: reference.shape),
                                        timestep: cut.latentTimestep)
        let cfg = settings.classifierFreeGuidance
        let needsStepNoise = settings.drawsStepNoise
        var latents = noised
        var steps: [Tensor] = []
        var lastTaps: UNetFeatureTaps?
        let interval = settings.deepCacheInterval
        guard interval <= 1 || unet.supportsDeepCache else {
            throw ModelLoadError(file: "unet/config.json", key: "block_out_channels", message: "one level: no deep blocks for DeepCache to skip",
                                 hint: "turn deep_cache off for this model")
        }
        var deep: Tensor?
        for (i, t) in cut.timesteps.enumerated() {
            let isLast = i == cut.timesteps.count - 1
            var input = cfg ? Tensor.concat([latents, latents], dim: 0) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            let modelTimestep = scheduler.modelTimesteps[cut.beginIndex + i]
            let call: UNet2DConditionModel.DeepCacheCall
            if interval <= 1 || isLast {
                call = .off
            } else if let deep, i % interval != 0 {
                call = .reuse(deep)
            } else {
                call = .keep
            }
            let (output, stepTaps, kept) = unet.forward(input, timesteps: [modelTimestep], encoderHiddenStates: embeddings,
                                                        tapBatchIndex: wantTaps && isLast ? (cfg ? 1 : 0) : nil, deepCache: call)
            if let kept { deep = kept }
            if isLast { lastTaps = stepTaps }
            var prediction = output
            if cfg {
                let halves = output.chunked(2, dim: 0)
                prediction = halves[0] + (halves[1] - halves[0]) * settings.guidanceScale
            }
            let stepNoise = needsStepNoise ? try noise.tensor(DiffusionNoise.stepKey(i), shape: latents.shape) : nil
            latents = scheduler.step(modelOutput: prediction, timestep: t, sample: latents, noise: stepNoise)
            if recordSteps { steps.append(latents) }
            progress?(i + 1, cut.timesteps.count)
        }
        clock.lap("denoise")
        let decoded = try decode(latents, settings: settings)
        clock.lap("decode")
        return Img2ImgResult(timesteps: cut.timesteps, referenceLatent: reference, noised: noised, stepLatents: steps,
                             finalLatent: latents, decoded: decoded, taps: lastTaps, seconds: clock.laps)
    }

    /// Detection-only mode (no sampling loop): the reference latent noised to `timestep`, one UNet call (with
    /// guidance's batch of 2 when `settings.guidanceScale > 1`, else the prompt alone; an empty prompt is
    /// allowed), and its taps. The noising is DDPM's forward process at a training timestep,
    /// sqrt(alphas_cumprod[t]) x + sqrt(1 - alphas_cumprod[t]) noise, whichever scheduler the settings name.
    /// `withEncoderMidBlock` adds the VAE encoder's mid-block output of the same encode to the taps.
    public func detectionTaps(image: Tensor, timestep: Int, settings: Img2ImgSettings, noise: DiffusionNoise,
                              withEncoderMidBlock: Bool = false) throws -> UNetFeatureTaps {
        let config = try SchedulerConfig(schedulerFile, for: .ddim)
        guard (0..<config.numTrainTimesteps).contains(timestep) else {
            throw ModelLoadError(file: schedulerFile.file, key: "num_train_timesteps",
                                 message: "detection timestep \(timestep) outside 0..<\(config.numTrainTimesteps)",
                                 hint: "choose t_det in the training range (the paper uses 1)")
        }
        let (reference, midBlock) = try referenceLatent(image, noise: noise, useMean: settings.useLatentMean,
                                                        keepingEncoderMidBlock: withEncoderMidBlock)
        var taps = try taps(of: reference, noisedTo: timestep, with: try noise.tensor(DiffusionNoise.latentKey, shape: reference.shape),
                            settings: settings, config: config)
        taps.vaeEncoderMidBlock = midBlock
        return taps
    }

    /// The `final-latent` label mode (few-step models, whose last step runs far above an adapter's timesteps): the
    /// final latent (1, C, h, w) of a run noised again to the adapter's `timestep` (DDPM's forward process with
    /// `relabel_noise`), one more UNet call with the run's prompt and guidance, and its taps. No VAE encode.
    public func finalLatentTaps(_ latent: Tensor, timestep: Int, settings: Img2ImgSettings, noise: DiffusionNoise) throws -> UNetFeatureTaps {
        let config = try SchedulerConfig(schedulerFile, for: .ddim)
        guard (0..<config.numTrainTimesteps).contains(timestep) else {
            throw ModelLoadError(file: schedulerFile.file, key: "num_train_timesteps",
                                 message: "label timestep \(timestep) outside 0..<\(config.numTrainTimesteps)",
                                 hint: "choose a timestep in the adapter's training range")
        }
        return try taps(of: latent, noisedTo: timestep, with: try noise.tensor(DiffusionNoise.relabelKey, shape: latent.shape),
                        settings: settings, config: config)
    }

    /// `latent` noised to a training `timestep` (alphas_cumprod[t], DDIM's add_noise), one UNet call with the
    /// settings' prompt (both halves with guidance), and the conditional element's taps.
    private func taps(of latent: Tensor, noisedTo timestep: Int, with noise: Tensor, settings: Img2ImgSettings,
                      config: SchedulerConfig) throws -> UNetFeatureTaps {
        let scheduler = DDIMScheduler(config: config)
        let embeddings = try encodePrompt(settings)
        var latents = scheduler.addNoise(original: latent, noise: noise, timestep: timestep)
        let cfg = settings.classifierFreeGuidance
        if cfg { latents = Tensor.concat([latents, latents], dim: 0) }
        return unet.forward(latents, timesteps: [Float(timestep)], encoderHiddenStates: embeddings, tapBatchIndex: cfg ? 1 : 0).taps!
    }

    private func checkImage(_ image: Tensor) throws {
        let f = vaeScaleFactor
        guard image.rank == 4, image.shape[0] == 1, image.shape[1] == 3 else {
            throw EngineInputError(input: "input image", message: "expected a (1, 3, H, W) tensor, got \(image.shape)", hint: "pass one RGB image")
        }
        guard image.shape[2] % f == 0, image.shape[3] % f == 0, image.shape[2] > 0, image.shape[3] > 0 else {
            throw EngineInputError(input: "input image", message: "size \(image.shape[3])x\(image.shape[2]) is not a multiple of the VAE factor \(f)",
                                 hint: "resize or crop the image to a multiple of \(f) pixels per side (diffusers rounds down the same way)")
        }
    }
}
