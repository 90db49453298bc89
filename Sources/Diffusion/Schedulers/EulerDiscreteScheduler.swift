import Tensors

/// diffusers' `EulerDiscreteScheduler` (ancestral noise off: `s_churn` 0), as SD-Turbo runs it (`timestep_spacing:
/// trailing`, 1-4 steps, guidance 0): the sample is kept at noise level sigma (`x = x0 + sigma * eps`), the model
/// sees it divided by sqrt(sigma^2 + 1), and each step is one Euler step of the probability-flow ODE from sigma to
/// the next sigma. Sigmas are sqrt((1 - alphas_cumprod) / alphas_cumprod) interpolated (numpy `interp`, float64) at
/// the inference timesteps, which `linspace` spacing leaves fractional: `modelTimesteps` holds them exactly (the
/// UNet's input), `timesteps` rounded (unique labels, for the loop and img2img's cut).
///
/// Implemented: `interpolation_type: linear`, `final_sigmas_type` zero or sigma_min, the three prediction types,
/// zero-terminal-SNR betas (the last alphas_cumprod set to 2^-24 as diffusers does). Karras / exponential / beta
/// sigmas, `log_linear` interpolation and continuous v-prediction timesteps are refused when the config is read.
public struct EulerDiscreteScheduler: DiffusionScheduler {
    public let config: SchedulerConfig
    public let noiseSchedule: NoiseSchedule
    /// alphas_cumprod as Euler uses them (zero-SNR: the last one is 2^-24, so the first sigma is finite).
    public let alphasCumprod: [Float]
    /// sqrt((1 - alphas_cumprod) / alphas_cumprod) at every training timestep (float32, as torch computes it).
    public let trainingSigmas: [Float]
    public private(set) var timesteps: [Int]
    public private(set) var modelTimesteps: [Float]
    /// The noise level at each inference timestep, then the final one (0 or the smallest training sigma).
    public private(set) var sigmas: [Float]
    public private(set) var beginIndex: Int?
    /// The index of the next step (nil before the first `step`).
    public private(set) var stepIndex: Int?
    public let order = 1

    public init(config: SchedulerConfig) {
        precondition(config.scheduler == .eulerDiscrete,
                     "EulerDiscreteScheduler needs a config read for EulerDiscreteScheduler (defaults differ by class), got \(config.scheduler)")
        self.config = config
        noiseSchedule = NoiseSchedule(config: config)
        var cumprod = noiseSchedule.alphasCumprod
        if config.rescaleBetasZeroSNR, !cumprod.isEmpty { cumprod[cumprod.count - 1] = 0x1p-24 }
        alphasCumprod = cumprod
        trainingSigmas = cumprod.map { ((1 - $0) / $0).squareRoot() }
        // Before setTimesteps: every training timestep, noisiest first.
        timesteps = Array((0..<config.numTrainTimesteps).reversed())
        modelTimesteps = timesteps.map(Float.init)
        sigmas = trainingSigmas.reversed() + [0]
    }

    /// The standard deviation of txt2img's initial noise: the largest sigma (`linspace` / `trailing`), else
    /// sqrt(max^2 + 1).
    public var initNoiseSigma: Float {
        let maxSigma = sigmas.max() ?? 0
        switch config.timestepSpacing {
        case .linspace, .trailing: return maxSigma
        case .leading: return (maxSigma * maxSigma + 1).squareRoot()
        }
    }

    public mutating func setTimesteps(_ count: Int) {
        let t = config.numTrainTimesteps
        precondition((1...t).contains(count),
                     "EulerDiscreteScheduler.setTimesteps: \(count) steps; the model was trained with \(t) timesteps, use 1...\(t)")
        let values: [Float]
        switch config.timestepSpacing {
        case .linspace:
            values = NumpySpacing.linspace(0, Double(t - 1), count: count).reversed().map { Float($0) }
        case .leading:
            let ratio = t / count
            values = (0..<count).reversed().map { Float(Double($0 * ratio).rounded(.toNearestOrEven)) + Float(config.stepsOffset) }
        case .trailing:
            let ratio = Double(t) / Double(count)
            values = NumpySpacing.arange(Double(t), 0, step: -ratio).map { Float($0.rounded(.toNearestOrEven)) - 1 }
        }
        modelTimesteps = values
        timesteps = values.map { Int($0.rounded(.toNearestOrEven)) }
        let last: Float = config.finalSigmasType == .sigmaMin ? trainingSigmas[0] : 0
        sigmas = values.map { Float(Self.interpolate(Double($0), trainingSigmas)) } + [last]
        beginIndex = nil
        stepIndex = nil
    }

    /// numpy's `interp(x, arange(n), fp)` in float64: `slope * (x - j) + fp[j]` on the segment holding x.
    static func interpolate(_ x: Double, _ fp: [Float]) -> Double {
        guard x > 0 else { return Double(fp[0]) }
        let last = fp.count - 1
        guard x < Double(last) else { return Double(fp[last]) }
        let j = Int(x.rounded(.down))
        let slope = (Double(fp[j + 1]) - Double(fp[j])) / 1.0
        return slope * (x - Double(j)) + Double(fp[j])
    }

    public mutating func setBeginIndex(_ index: Int) { beginIndex = index }

    /// diffusers' `index_for_timestep`: where `timestep` sits in the schedule (the second match when there are two).
    func index(for timestep: Int) -> Int {
        let matches = timesteps.indices.filter { timesteps[$0] == timestep }
        precondition(!matches.isEmpty, "EulerDiscreteScheduler: timestep \(timestep) is not in the schedule \(timesteps)")
        return matches.count > 1 ? matches[1] : matches[0]
    }

    /// The step a call at `timestep` belongs to: the running index, else the begin index, else the lookup.
    func currentIndex(_ timestep: Int) -> Int { stepIndex ?? beginIndex ?? index(for: timestep) }

    public func scaleModelInput(_ sample: Tensor, timestep: Int) -> Tensor {
        let sigma = sigmas[currentIndex(timestep)]
        return sample / (sigma * sigma + 1).squareRoot()
    }

    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor {
        precondition(modelOutput.shape == sample.shape, "EulerDiscreteScheduler.step: model output \(modelOutput.shape) vs sample \(sample.shape)")
        let i = currentIndex(timestep)
        precondition(i + 1 < sigmas.count, "EulerDiscreteScheduler.step: no step after the last timestep (call setTimesteps again)")
        let sigma = sigmas[i]
        let predOriginal: Tensor
        switch config.predictionType {
        case .epsilon: predOriginal = sample - modelOutput * sigma
        case .sample: predOriginal = modelOutput
        case .vPrediction:
            let scale = sigma * sigma + 1
            predOriginal = modelOutput * (-sigma / scale.squareRoot()) + sample / scale
        }
        let derivative = (sample - predOriginal) / sigma
        let dt = sigmas[i + 1] - sigma
        stepIndex = i + 1
        return sample + derivative * dt
    }

    /// img2img's start: `original + noise * sigma` at the begin index (or, without one, at the timestep's index).
    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        precondition(original.shape == noise.shape, "EulerDiscreteScheduler.addNoise: original \(original.shape) vs noise \(noise.shape)")
        return original + noise * sigmas[stepIndex ?? beginIndex ?? index(for: timestep)]
    }
}
