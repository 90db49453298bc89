import Tensors

/// diffusers' `LCMScheduler` (latent consistency models, LCM-LoRA): each step predicts the clean sample, applies the
/// consistency boundary condition (denoised = c_out x0 + c_skip x, with c_skip = 0.25 / (s^2 + 0.25), c_out = s /
/// sqrt(s^2 + 0.25), s = t x timestep_scaling) and, except at the last step, noises it again to the next timestep
/// with the step's noise (`noise`, required then).
public struct LCMScheduler: ConsistencyDistilledScheduler {
    public let config: SchedulerConfig
    let schedule: ConsistencySchedule
    public internal(set) var timesteps: [Int]
    public internal(set) var beginIndex: Int?
    public internal(set) var stepIndex: Int?
    public let order = 1

    public init(config: SchedulerConfig) {
        precondition(config.scheduler == .lcm, "LCMScheduler needs a config read for LCMScheduler, got \(config.scheduler)")
        self.config = config
        schedule = ConsistencySchedule(config: config)
        timesteps = Array((0..<config.numTrainTimesteps).reversed())
    }

    /// c_skip and c_out of the boundary condition at `timestep` (Python floats in diffusers: Double here).
    func boundaryScalings(_ timestep: Int) -> (skip: Double, out: Double) {
        let s = Double(timestep) * config.timestepScaling
        return (0.25 / (s * s + 0.25), s / (s * s + 0.25).squareRoot())
    }

    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor {
        precondition(modelOutput.shape == sample.shape, "LCMScheduler.step: model output \(modelOutput.shape) vs sample \(sample.shape)")
        let i = currentIndex(timestep)
        let previous = i + 1 < timesteps.count ? timesteps[i + 1] : timestep
        let (skip, out) = boundaryScalings(timestep)
        let denoised = schedule.predictedOriginal(modelOutput, sample, timestep: timestep, clipping: true) * Float(out) + sample * Float(skip)
        stepIndex = i + 1
        guard i != timesteps.count - 1 else { return denoised }
        guard let noise else { preconditionFailure("LCMScheduler.step: every step but the last needs noise (the `noise` argument)") }
        let alphaPrev = schedule.alpha(previous)
        return denoised * alphaPrev.squareRoot() + noise * (1 - alphaPrev).squareRoot()
    }
}
