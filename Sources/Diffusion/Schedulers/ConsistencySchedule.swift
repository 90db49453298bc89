import Tensors

/// What diffusers' `LCMScheduler` and `TCDScheduler` share: the inference timesteps picked from the distillation
/// schedule k - 1, 2k - 1, ..., n_orig k - 1 (k = T / n_orig), noisiest first, at floor(linspace(0, n_orig, steps,
/// endpoint=False)); DDPM's forward process for img2img's start; and the predicted clean sample.
struct ConsistencySchedule: Sendable {
    let config: SchedulerConfig
    let alphasCumprod: [Float]
    let finalAlphaCumprod: Float

    init(config: SchedulerConfig) {
        self.config = config
        alphasCumprod = NoiseSchedule(config: config).alphasCumprod
        finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
    }

    /// `set_timesteps(count)` with strength 1 (the img2img pipeline cuts the schedule itself).
    func timesteps(_ count: Int) -> [Int] {
        let original = config.originalInferenceSteps
        precondition((1...original).contains(count), "\(config.scheduler): \(count) steps; at most original_inference_steps (\(original))")
        let k = config.numTrainTimesteps / original
        let origin = (1...original).map { $0 * k - 1 }.reversed() as [Int]
        let step = Double(origin.count) / Double(count)
        return (0..<count).map { origin[Int((Double($0) * step).rounded(.down))] }
    }

    func alpha(_ timestep: Int) -> Float { timestep >= 0 ? alphasCumprod[timestep] : finalAlphaCumprod }

    /// x0 from the model output at `timestep`, clipped when the config says so and `clipping` (LCM clips, TCD never).
    func predictedOriginal(_ modelOutput: Tensor, _ sample: Tensor, timestep: Int, clipping: Bool) -> Tensor {
        let alphaT = alphasCumprod[timestep], betaT = 1 - alphaT
        var x0: Tensor
        switch config.predictionType {
        case .epsilon: x0 = (sample - modelOutput * betaT.squareRoot()) / alphaT.squareRoot()
        case .sample: x0 = modelOutput
        case .vPrediction: x0 = sample * alphaT.squareRoot() - modelOutput * betaT.squareRoot()
        }
        if clipping && config.clipSample {
            let range = Float(config.clipSampleRange)
            x0 = Tensor(shape: x0.shape, scalars: x0.scalars.map { $0.isNaN ? $0 : Swift.min(Swift.max($0, -range), range) })
        }
        return x0
    }

    /// DDPM's forward process: sqrt(alpha_t) x0 + sqrt(1 - alpha_t) noise.
    func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        precondition(original.shape == noise.shape, "\(config.scheduler).addNoise: original \(original.shape) vs noise \(noise.shape)")
        let a = alphasCumprod[timestep]
        return original * a.squareRoot() + noise * (1 - a).squareRoot()
    }
}

/// The state and methods LCM and TCD share (they differ only in `step`).
protocol ConsistencyDistilledScheduler: DiffusionScheduler {
    var schedule: ConsistencySchedule { get }
    var timesteps: [Int] { get set }
    var beginIndex: Int? { get set }
    var stepIndex: Int? { get set }
}

extension ConsistencyDistilledScheduler {
    public var alphasCumprod: [Float] { schedule.alphasCumprod }
    public var maxSteps: Int { config.originalInferenceSteps }
    public var initNoiseSigma: Float { 1 }

    public mutating func setTimesteps(_ count: Int) {
        timesteps = schedule.timesteps(count)
        beginIndex = nil
        stepIndex = nil
    }

    public mutating func setBeginIndex(_ index: Int) { beginIndex = index }

    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        schedule.addNoise(original: original, noise: noise, timestep: timestep)
    }

    /// The step a call at `timestep` belongs to: the running index, else the begin index, else diffusers'
    /// `index_for_timestep` (the second match when a timestep appears twice).
    func currentIndex(_ timestep: Int) -> Int {
        if let i = stepIndex ?? beginIndex { return i }
        let matches = timesteps.indices.filter { timesteps[$0] == timestep }
        precondition(!matches.isEmpty, "\(config.scheduler): timestep \(timestep) is not in the schedule \(timesteps)")
        return matches.count > 1 ? matches[1] : matches[0]
    }
}
