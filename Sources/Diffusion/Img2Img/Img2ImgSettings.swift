import Tensors
import Support

/// One noise-and-denoise run (DiffusionEngine's stage 4): what diffusers' `StableDiffusionImg2ImgPipeline` takes.
public struct Img2ImgSettings: Sendable {
    public var prompt: String
    public var negativePrompt: String
    /// The encode ratio: the fraction of the schedule that is run (diffusers' `strength`), in (0, 1].
    public var strength: Double
    /// Inference steps of the full schedule; about strength * steps of them run.
    public var steps: Int
    /// Classifier-free guidance scale; <= 1 runs the conditional prompt alone (batch 1), as diffusers does.
    public var guidanceScale: Float
    public var scheduler: SchedulerType
    /// DDIM's eta and TCD's gamma (0 deterministic); ignored by DPM-Solver++, Euler and LCM.
    public var eta: Double
    /// Scheduler settings over the model's `scheduler_config.json` (diffusers' `from_config(..., **kwargs)`);
    /// `schedulerDefaults(for:)` gives the paper's / authors' settings.
    public var schedulerOverrides: [String: JSONValue]
    /// Use the posterior mean instead of a sample for the reference latent.
    public var useLatentMean: Bool
    /// Which VAE encodes the reference and which decodes the result (`.tiny`: the pipeline's attached TAESD).
    public var encodeVAE: VAEKind = .kl
    public var decodeVAE: VAEKind = .kl
    /// DeepCache: every this many steps a full UNet call, in between shallow calls that reuse its deep feature;
    /// the last step is always full (its taps label the image). 1: off.
    public var deepCacheInterval: Int = 1

    /// The model's `AutoencoderKL` or a TAESD (`AutoencoderTiny`), several times cheaper and slightly blurrier.
    public enum VAEKind: String, Sendable, CaseIterable {
        case kl, tiny
    }

    public init(prompt: String, negativePrompt: String = "", strength: Double = 0.5, steps: Int = 30,
                guidanceScale: Float = 7.5, scheduler: SchedulerType = .dpmSolverMultistep, eta: Double = 0,
                schedulerOverrides: [String: JSONValue]? = nil, useLatentMean: Bool = false) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.strength = strength
        self.steps = steps
        self.guidanceScale = guidanceScale
        self.scheduler = scheduler
        self.eta = eta
        self.schedulerOverrides = schedulerOverrides ?? Self.schedulerDefaults(for: scheduler)
        self.useLatentMean = useLatentMean
    }

    /// DPM-Solver++ as the DiffusionEngine paper runs it (2M, midpoint, lower-order final step, final sigma 0,
    /// linspace spacing); DDIM as the authors' code (leading spacing; the rest from the model's config); Euler as the
    /// model's config says (diffusers' `EulerDiscreteScheduler.from_config(pipe.scheduler.config)`).
    public static func schedulerDefaults(for scheduler: SchedulerType) -> [String: JSONValue] {
        switch scheduler {
        case .dpmSolverMultistep:
            return ["algorithm_type": .string("dpmsolver++"), "solver_order": .int(2), "solver_type": .string("midpoint"),
                    "lower_order_final": .bool(true), "final_sigmas_type": .string("zero"),
                    "timestep_spacing": .string("linspace"), "use_karras_sigmas": .bool(false)]
        case .ddim:
            return ["timestep_spacing": .string("leading")]
        case .eulerDiscrete:
            return [:]  // the model's own config (SD-Turbo's: trailing), else Euler's defaults (linspace)
        case .lcm, .tcd:
            return [:]  // the model's config; their timesteps come from original_inference_steps
        }
    }

    var classifierFreeGuidance: Bool { guidanceScale > 1 }

    /// Whether each step draws fresh noise (`step_noise.<i>`): DDIM with eta, TCD with gamma (eta), and LCM.
    public var drawsStepNoise: Bool { scheduler == .lcm || ([.ddim, .tcd].contains(scheduler) && eta > 0) }
}

/// What a run produced. Latents are (1, latent_channels, h, w); `decoded` is the VAE output (1, 3, H, W) before
/// post-processing.
public struct Img2ImgResult: Sendable {
    /// The kept timesteps, in order.
    public var timesteps: [Int]
    /// The VAE latent of the input times scaling_factor.
    public var referenceLatent: Tensor
    /// The reference latent noised at the first kept timestep.
    public var noised: Tensor
    /// Latents after each step (only when asked for).
    public var stepLatents: [Tensor]
    public var finalLatent: Tensor
    public var decoded: Tensor
    /// The taps of the last step's UNet call (conditional element), when asked for.
    public var taps: UNetFeatureTaps?
    /// Wall-clock seconds by part: text (prompt encoding), encode (VAE), denoise (all steps), decode (VAE).
    public var seconds: [String: Double] = [:]

    /// The image as diffusers' `output_type="pil"` makes it: clamp(decoded / 2 + 0.5, 0, 1) * 255, rounded half
    /// to even; interleaved RGB bytes, row-major.
    /// Throws `NonFiniteOutputError` when the decoded image holds NaN or infinite values.
    public func rgbBytes() throws -> [UInt8] { try Self.rgbBytes(decoded) }

    public static func rgbBytes(_ decoded: Tensor) throws -> [UInt8] {
        guard decoded.rank == 4, decoded.shape[0] == 1, decoded.shape[1] == 3 else {
            throw EngineInputError(input: "decoded image", message: "expected a (1, 3, H, W) tensor, got \(decoded.shape)")
        }
        if decoded.firstNonFiniteIndex != nil {
            throw NonFiniteOutputError(what: "the decoded image", count: decoded.nonFiniteCount, of: decoded.scalars.count)
        }
        let plane = decoded.shape[2] * decoded.shape[3]
        var out = [UInt8](repeating: 0, count: plane * 3)
        for c in 0..<3 {
            for p in 0..<plane {
                let v = Swift.min(Swift.max(decoded.scalars[c * plane + p] / 2 + 0.5, 0), 1)
                out[p * 3 + c] = UInt8((v * 255).rounded(.toNearestOrEven))
            }
        }
        return out
    }

    /// Interleaved RGB bytes (height x width x 3) as the (1, 3, H, W) tensor in [-1, 1] the VAE takes
    /// (diffusers' VaeImageProcessor: x / 255 * 2 - 1).
    public static func imageTensor(rgb: [UInt8], width: Int, height: Int) -> Tensor {
        precondition(rgb.count == width * height * 3, "imageTensor: \(rgb.count) bytes for \(width)x\(height) RGB")
        let plane = width * height
        var scalars = [Float](repeating: 0, count: plane * 3)
        for p in 0..<plane {
            for c in 0..<3 { scalars[c * plane + p] = Float(rgb[p * 3 + c]) / 255 * 2 - 1 }
        }
        return Tensor(shape: [1, 3, height, width], scalars: scalars)
    }
}
