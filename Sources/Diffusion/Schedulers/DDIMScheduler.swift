import Tensors

/// diffusers' `DDIMScheduler` (Song et al., "Denoising Diffusion Implicit Models"): deterministic with eta = 0,
/// adding `eta`-scaled variance noise otherwise. Matches diffusers 0.42.1 in float32, operation by operation.
public struct DDIMScheduler: DiffusionScheduler {
    public let config: SchedulerConfig
    /// The training noise levels (`alphas_cumprod` is what the steps use).
    public let noiseSchedule: NoiseSchedule
    /// The alphas_cumprod "before" the last step: 1 with `set_alpha_to_one`, else alphas_cumprod[0].
    public let finalAlphaCumprod: Float
    public private(set) var timesteps: [Int]
    /// The count given to `setTimesteps` (nil before).
    public private(set) var numInferenceSteps: Int?
    /// Recorded by `setBeginIndex`; DDIM's steps do not depend on it.
    public private(set) var beginIndex: Int?
    /// The eta of `step(modelOutput:timestep:sample:noise:)` (the pipeline's `eta`; 0: deterministic DDIM).
    public var eta: Double = 0
    public let order = 1
    public let initNoiseSigma: Float = 1

    public init(config: SchedulerConfig) {
        precondition(config.scheduler == .ddim,
                     "DDIMScheduler needs a config read for DDIMScheduler (defaults differ by class), got \(config.scheduler)")
        self.config = config
        noiseSchedule = NoiseSchedule(config: config)
        finalAlphaCumprod = config.setAlphaToOne ? 1 : noiseSchedule.alphasCumprod[0]
        timesteps = Array((0..<config.numTrainTimesteps).reversed())
    }

    public var alphasCumprod: [Float] { noiseSchedule.alphasCumprod }

    public mutating func setTimesteps(_ count: Int) {
        let t = config.numTrainTimesteps
        precondition((1...t).contains(count),
                     "DDIMScheduler.setTimesteps: \(count) steps; the model was trained with \(t) timesteps, use 1...\(t)")
        numInferenceSteps = count
        switch config.timestepSpacing {
        case .linspace:
            timesteps = NumpySpacing.roundedToInt(NumpySpacing.linspace(0, Double(t - 1), count: count)).reversed()
        case .leading:
            let ratio = t / count
            timesteps = (0..<count).reversed().map { $0 * ratio + config.stepsOffset }
        case .trailing:
            let ratio = Double(t) / Double(count)
            timesteps = NumpySpacing.roundedToInt(NumpySpacing.arange(Double(t), 0, step: -ratio)).map { $0 - 1 }
        }
    }

    public mutating func setBeginIndex(_ index: Int) { beginIndex = index }

    /// The protocol's step: `step(modelOutput:timestep:sample:eta:varianceNoise:)` with `self.eta`.
    public func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor {
        step(modelOutput: modelOutput, timestep: timestep, sample: sample, eta: eta, varianceNoise: noise)
    }

    /// diffusers' `step(model_output, timestep, sample, eta=eta, variance_noise=variance_noise)`: the sample at the
    /// previous timestep, `timestep - num_train_timesteps / numInferenceSteps` (alphas_cumprod there, or
    /// `finalAlphaCumprod` below 0). With eta > 0, `varianceNoise` (standard normal, the sample's shape) is required.
    public func step(modelOutput: Tensor, timestep: Int, sample: Tensor, eta: Double, varianceNoise: Tensor?) -> Tensor {
        guard let count = numInferenceSteps else {
            preconditionFailure("DDIMScheduler.step: call setTimesteps first")
        }
        precondition(modelOutput.shape == sample.shape, "DDIMScheduler.step: model output \(modelOutput.shape) vs sample \(sample.shape)")
        precondition(alphasCumprod.indices.contains(timestep), "DDIMScheduler.step: timestep \(timestep) outside 0..<\(alphasCumprod.count)")
        let previous = timestep - config.numTrainTimesteps / count

        // 0-d float32 tensors in diffusers.
        let alphaProdT = alphasCumprod[timestep]
        let alphaProdTPrev = previous >= 0 ? alphasCumprod[previous] : finalAlphaCumprod
        let betaProdT = 1 - alphaProdT
        let sqrtAlphaProdT = alphaProdT.squareRoot()
        let sqrtBetaProdT = betaProdT.squareRoot()

        var predOriginal: Tensor
        let predEpsilon: Tensor
        switch config.predictionType {
        case .epsilon:
            predOriginal = (sample - modelOutput * sqrtBetaProdT) / sqrtAlphaProdT
            predEpsilon = modelOutput
        case .sample:
            predOriginal = modelOutput
            predEpsilon = (sample - predOriginal * sqrtAlphaProdT) / sqrtBetaProdT
        case .vPrediction:
            predOriginal = sample * sqrtAlphaProdT - modelOutput * sqrtBetaProdT
            predEpsilon = modelOutput * sqrtAlphaProdT + sample * sqrtBetaProdT
        }
        if config.clipSample {
            let range = Float(config.clipSampleRange)
            predOriginal = Tensor(shape: predOriginal.shape, scalars: predOriginal.scalars.map { v in
                v.isNaN ? v : Swift.min(Swift.max(v, -range), range)
            })
        }

        // _get_variance
        let betaProdTPrev = 1 - alphaProdTPrev
        let variance = (betaProdTPrev / betaProdT) * (1 - alphaProdT / alphaProdTPrev)
        let stdDevT = Float(eta) * variance.squareRoot()  // torch rounds the Python float eta to float32

        let direction = predEpsilon * (1 - alphaProdTPrev - stdDevT * stdDevT).squareRoot()
        var previousSample = predOriginal * alphaProdTPrev.squareRoot() + direction
        if eta > 0 {
            guard let varianceNoise else {
                preconditionFailure("DDIMScheduler.step: eta \(eta) > 0 needs variance noise (the `noise` argument)")
            }
            precondition(varianceNoise.shape == sample.shape, "DDIMScheduler.step: noise \(varianceNoise.shape) vs sample \(sample.shape)")
            previousSample = previousSample + varianceNoise * stdDevT
        }
        return previousSample
    }

    /// diffusers' `add_noise`: sqrt(alphas_cumprod[t]) * original + sqrt(1 - alphas_cumprod[t]) * noise, in float32.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        precondition(original.shape == noise.shape, "DDIMScheduler.addNoise: original \(original.shape) vs noise \(noise.shape)")
        precondition(alphasCumprod.indices.contains(timestep), "DDIMScheduler.addNoise: timestep \(timestep) outside 0..<\(alphasCumprod.count)")
        let alphaProd = alphasCumprod[timestep]
        return original * alphaProd.squareRoot() + noise * (1 - alphaProd).squareRoot()
    }
}
