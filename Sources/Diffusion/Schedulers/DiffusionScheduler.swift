import Tensors

/// What a denoising loop needs from a scheduler, whichever it is (diffusers' `SchedulerMixin` surface used by the
/// Stable Diffusion pipelines). Schedulers are values: copy one to run the same schedule twice.
///
/// A txt2img loop: `setTimesteps(n)`, start from `noise * initNoiseSigma`, then for each `t` in `timesteps`:
/// `sample = step(modelOutput: unet(scaleModelInput(sample, timestep: t), t), timestep: t, sample: sample,
/// noise: nil)`. An img2img loop cuts the schedule with `Img2ImgTimesteps.prepare(_:steps:strength:)` (which also sets
/// the begin index) and starts from `addNoise(original:noise:timestep:)` at its first timestep.
public protocol DiffusionScheduler: Sendable {
    /// The settings it was made with.
    var config: SchedulerConfig { get }
    /// The inference timesteps, from noisiest to cleanest (after `setTimesteps`; before, all training timesteps).
    var timesteps: [Int] { get }
    /// The same timesteps as the model is given them: equal to `timesteps` except where a scheduler's spacing
    /// leaves them fractional (Euler's `linspace`), where `timesteps` holds them rounded.
    var modelTimesteps: [Float] { get }
    /// The most steps `setTimesteps` takes (the training timesteps; LCM and TCD: `original_inference_steps`).
    var maxSteps: Int { get }
    /// Model evaluations per timestep (diffusers' `order` class attribute; 1 for DDIM, DPM-Solver multistep and Euler).
    var order: Int { get }
    /// The standard deviation of the initial noise of txt2img (1 for both).
    var initNoiseSigma: Float { get }

    /// diffusers' `set_timesteps(count)`: picks the inference timesteps and resets the state of a previous run
    /// (including the begin index). `count` must be in 1...config.numTrainTimesteps.
    mutating func setTimesteps(_ count: Int)
    /// diffusers' `set_begin_index(index)`: the run starts at `timesteps[index]` (img2img). Call it after
    /// `setTimesteps`. DDIM keeps it but does not need it (diffusers' DDIMScheduler has none).
    mutating func setBeginIndex(_ index: Int)
    /// One denoising step from `sample` at `timestep` given the model's output; returns the previous (less noisy)
    /// sample. `noise` is the variance noise of DDIM with eta > 0 (required there, a precondition) and ignored
    /// otherwise. Multistep schedulers keep state between calls: call it once per timestep, in order.
    mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor
    /// The forward process: `original` noised to the level of `timestep` with `noise` (img2img's start).
    func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor
    /// The model input for `sample` at `timestep` (identity for DDIM and DPM-Solver; Euler-type schedulers scale).
    func scaleModelInput(_ sample: Tensor, timestep: Int) -> Tensor
}

extension DiffusionScheduler {
    public func scaleModelInput(_ sample: Tensor, timestep: Int) -> Tensor { sample }
    public var modelTimesteps: [Float] { timesteps.map(Float.init) }
    public var maxSteps: Int { config.numTrainTimesteps }
}

extension SchedulerConfig {
    /// A scheduler of this config's class, ready for `setTimesteps`: the one place a scheduler kind becomes a
    /// scheduler. `eta` is DDIM's eta and TCD's gamma (ignored by the others).
    public func makeScheduler(eta: Double = 0) -> any DiffusionScheduler {
        switch scheduler {
        case .ddim:
            var ddim = DDIMScheduler(config: self)
            ddim.eta = eta
            return ddim
        case .dpmSolverMultistep: return DPMSolverMultistepScheduler(config: self)
        case .eulerDiscrete: return EulerDiscreteScheduler(config: self)
        case .lcm: return LCMScheduler(config: self)
        case .tcd:
            var tcd = TCDScheduler(config: self)
            tcd.gamma = eta
            return tcd
        }
    }
}
