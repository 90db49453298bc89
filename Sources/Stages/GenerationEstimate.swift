import Adapter
import Diffusion
import Foundation
import Tensors

/// What one generated image costs on this machine, measured before a long run: one UNet call at the pipeline's
/// latent size (batch 2 with guidance), one encode and one decode by the VAEs the stage names (and one KL encode),
/// combined with the expected number of
/// denoising steps (mean encode ratio x steps).
public struct GenerationEstimate: Sendable {
    public var unetSeconds: Double
    /// The reference's encode and the result's decode, by the VAE the stage's `vae` names.
    public var encodeSeconds: Double
    public var decodeSeconds: Double
    /// One encode by the model's KL VAE (what an adapter with `vae_encoder_taps` adds per image).
    public var klEncodeSeconds: Double
    public var meanSteps: Double
    public var threads: Int
    /// With `deep_cache`: one shallow call (the steps between full calls), and the interval.
    public var shallowUNetSeconds: Double?
    public var deepCacheInterval: Int = 1

    /// Mean UNet seconds per denoising step: with DeepCache, a full call every interval steps (and on the last) and
    /// shallow calls in between.
    public var secondsPerStep: Double {
        guard let shallowUNetSeconds, deepCacheInterval > 1 else { return unetSeconds }
        let steps = max(1, Int(meanSteps))
        let full = (0..<steps).filter { $0 % deepCacheInterval == 0 || $0 == steps - 1 }.count
        return (Double(full) * unetSeconds + Double(steps - full) * shallowUNetSeconds) / Double(steps)
    }

    public var secondsPerImage: Double { encodeSeconds + decodeSeconds + meanSteps * secondsPerStep }

    /// Times the parts with `threads` threads (the compute budget of one worker).
    public static func measure(_ config: GenerateConfig, threads: Int, models: ModelCache) throws -> GenerationEstimate {
        ComputeBudget.apply(threadsPerWorker: threads)
        let pipeline = try models.pipeline(config.model, loras: config.lora, stage: "generate")
        let f = pipeline.vaeScaleFactor
        let side = config.size / f
        let batch = config.guidance.upper > 1 ? 2 : 1
        let latent = Tensor(shape: [batch, pipeline.unet.config.inChannels, side, side],
                            scalars: (0..<(batch * pipeline.unet.config.inChannels * side * side)).map { Float(($0 % 17) - 8) / 8 })
        let context = Tensor(shape: [batch, 77, pipeline.textEncoder.config.hiddenSize],
                             scalars: [Float](repeating: 0.01, count: batch * 77 * pipeline.textEncoder.config.hiddenSize))
        let taesd = try config.vae.usesTiny ? config.vae.tiny.map { try models.tinyVAE($0, stage: "generate") } : nil
        var clock = PhaseClock()
        let full = pipeline.unet.forward(latent, timesteps: [500], encoderHiddenStates: context, tapBatchIndex: nil,
                                         deepCache: config.deepCache == nil ? .off : .keep)
        clock.lap("unet")
        if let deep = full.deep {
            _ = pipeline.unet.forward(latent, timesteps: [400], encoderHiddenStates: context, deepCache: .reuse(deep))
            clock.lap("shallow-unet")
        }
        let image = Tensor(shape: [1, 3, config.size, config.size], scalars: [Float](repeating: 0.1, count: 3 * config.size * config.size))
        let posterior = pipeline.vae.encode(image)
        clock.lap("kl-encode")
        let reference = config.vae.encode == .tiny ? taesd.map { $0.encode(image) } ?? posterior.mean : posterior.mean
        if config.vae.encode == .tiny { clock.lap("encode") }
        _ = config.vae.decode == .tiny ? taesd.map { $0.decode(reference) } ?? pipeline.vae.decode(reference) : pipeline.vae.decode(reference)
        clock.lap("decode")
        let meanRatio = (config.encodeRatio.lower + config.encodeRatio.upper) / 2
        return GenerationEstimate(unetSeconds: clock.laps["unet"]!, encodeSeconds: clock.laps["encode"] ?? clock.laps["kl-encode"]!,
                                  decodeSeconds: clock.laps["decode"]!, klEncodeSeconds: clock.laps["kl-encode"]!,
                                  meanSteps: max(1, (meanRatio * Double(config.resolvedSteps)).rounded()), threads: threads,
                                  shallowUNetSeconds: clock.laps["shallow-unet"], deepCacheInterval: config.deepCache?.interval ?? 1)
    }

    /// The UNet timesteps at which the last denoising step runs, for the lowest and highest encode ratio: the taps'
    /// timestep the adapter will see.
    public static func lastTimesteps(_ config: GenerateConfig, models: ModelCache) throws -> [Int] {
        let pipeline = try models.pipeline(config.model, loras: config.lora, stage: "generate")
        let settings = Img2ImgSettings(prompt: "", steps: config.resolvedSteps, scheduler: config.scheduler.engine)
        let schedulerConfig = try pipeline.schedulerConfig(settings)
        return try [config.encodeRatio.lower, config.encodeRatio.upper].map { ratio in
            try lastTimestep(schedulerConfig.makeScheduler(), steps: config.resolvedSteps, strength: ratio)
        }
    }

    /// Few-step models (SD-Turbo: Euler, 1-4 steps) are distilled to run without classifier-free guidance, which
    /// doubles every UNet call and over-saturates their images.
    public static func fewStepGuidanceWarning(_ config: GenerateConfig) -> String? {
        guard config.scheduler == .euler, config.resolvedSteps <= 4, config.guidance.upper > 1 else { return nil }
        return "guidance up to \(config.guidance.upper) with \(config.resolvedSteps) Euler steps: few-step models such as SD-Turbo "
            + "are run at guidance 0 (guidance doubles every UNet call and over-saturates their images); set `guidance: 0`"
    }

    private static func lastTimestep<S: DiffusionScheduler>(_ scheduler: S, steps: Int, strength: Double) throws -> Int {
        var scheduler = scheduler
        return try Img2ImgTimesteps.prepare(&scheduler, steps: steps, strength: strength).timesteps.last ?? 0
    }

    /// "3 h 20 min", "12 days", "4.1 years".
    public static func duration(_ seconds: Double) -> String {
        switch seconds {
        case ..<120: return String(format: "%.0f s", seconds)
        case ..<7200: return String(format: "%.0f min", seconds / 60)
        case ..<(3 * 86400): return String(format: "%.1f h", seconds / 3600)
        case ..<(2 * 365 * 86400): return String(format: "%.0f days", seconds / 86400)
        default: return String(format: "%.1f years", seconds / (365 * 86400))
        }
    }
}
