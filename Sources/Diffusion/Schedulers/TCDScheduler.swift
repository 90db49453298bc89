import Tensors

/// diffusers' `TCDScheduler` (trajectory consistency distillation, the TCD LoRA for SD 2.1 base): each step predicts
/// the clean sample and noise, moves to s = floor((1 - gamma) x the next timestep) along the trajectory, and, with
/// gamma > 0 and except at the last step, noises forward to the next timestep with the step's noise. `gamma` is the
/// pipeline's eta (diffusers passes `eta` to `step`); 0 is deterministic.
public struct TCDScheduler: ConsistencyDistilledScheduler {
    public let config: SchedulerConfig
    let schedule: ConsistencySchedule
    public internal(set) var timesteps: [Int]
    public internal(set) var beginIndex: Int?
    public internal(set) var stepIndex: Int?
    /// diffusers' `eta` of `TCDScheduler.step` (its "gamma"), in [0, 1].
    public var gamma: Double = 0
    public let order = 1

    public init(config: SchedulerConfig) {
        precondition(config.scheduler == .tcd, "TCDScheduler needs a config read for TCDScheduler, got \(config.scheduler)")
        self.config = config
        schedule = ConsistencySchedule(config: config)
        timesteps = Array((0..<config.numTrainTimesteps).reversed())
    }

    /// floor((1 - gamma) x t) as torch computes it: the factor rounded to float32, times the timestep in float32.
    func intermediate(_ next: Int) -> Int { Int((Float(1 - gamma) * Float(next)).rounded(.down)) }

    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor {
        precondition(modelOutput.shape == sample.shape, "TCDScheduler.step: model output \(modelOutput.shape) vs sample \(sample.shape)")
        precondition((0...1).contains(gamma), "TCDScheduler.step: gamma (eta) \(gamma) outside [0, 1]")
        let i = currentIndex(timestep)
        let previous = i + 1 < timesteps.count ? timesteps[i + 1] : 0
        let s = intermediate(previous)
        let alphaT = schedule.alphasCumprod[timestep], betaT = 1 - alphaT
        let alphaS = schedule.alphasCumprod[s], betaS = 1 - alphaS
        let x0 = schedule.predictedOriginal(modelOutput, sample, timestep: timestep, clipping: false)
        let epsilon: Tensor
        switch config.predictionType {
        case .epsilon: epsilon = modelOutput
        case .sample: epsilon = (sample - x0 * alphaT.squareRoot()) / betaT.squareRoot()
        case .vPrediction: epsilon = modelOutput * alphaT.squareRoot() + sample * betaT.squareRoot()
        }
        let noised = x0 * alphaS.squareRoot() + epsilon * betaS.squareRoot()
        stepIndex = i + 1
        guard gamma > 0, i != timesteps.count - 1 else { return noised }
        guard let noise else { preconditionFailure("TCDScheduler.step: with gamma > 0 every step but the last needs noise (the `noise` argument)") }
        let ratio = schedule.alpha(previous) / alphaS
        return noised * ratio.squareRoot() + noise * (1 - ratio).squareRoot()
    }
}
