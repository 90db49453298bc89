/// The part of a schedule img2img runs: diffusers' `StableDiffusionImg2ImgPipeline.get_timesteps(steps, strength)`.
///
///     init_timestep = min(int(steps * strength), steps)
///     t_start       = max(steps - init_timestep, 0)
///     timesteps     = scheduler.timesteps[t_start * order:]
///     scheduler.set_begin_index(t_start * order)
///
/// `int()` truncates the float64 product, as here: 0.3 * 10 = 3.0000000000000004 keeps 3 steps, 0.65 * 30 = 19.5
/// keeps 19. Where diffusers would go on with no timestep at all (and fail further on), this throws
/// `Img2ImgTimestepsError.noStepKept`.
public struct Img2ImgTimesteps: Sendable, Equatable {
    /// The timesteps to run, from the noisiest: `scheduler.timesteps[beginIndex...]`.
    public let timesteps: [Int]
    /// min(int(steps * strength), steps).
    public let initTimestep: Int
    /// max(steps - initTimestep, 0): how many leading steps are skipped.
    public let tStart: Int
    /// tStart * order, given to the scheduler's `setBeginIndex`.
    public let beginIndex: Int
    /// steps - tStart (the second value diffusers returns).
    public let numInferenceSteps: Int

    /// The timestep the image latents are noised to (diffusers' `latent_timestep`).
    public var latentTimestep: Int { timesteps[0] }

    /// Computes the cut for a schedule (`schedulerTimesteps`, after `setTimesteps(steps)`) of the given order.
    public init(steps: Int, strength: Double, schedulerTimesteps: [Int], order: Int = 1) throws {
        guard steps >= 1 else { throw Img2ImgTimestepsError.invalidSteps(steps) }
        guard strength >= 0, strength <= 1 else { throw Img2ImgTimestepsError.invalidStrength(strength) }
        initTimestep = min(Int(Double(steps) * strength), steps)
        tStart = max(steps - initTimestep, 0)
        beginIndex = tStart * order
        numInferenceSteps = steps - tStart
        guard beginIndex < schedulerTimesteps.count else {
            throw Img2ImgTimestepsError.noStepKept(steps: steps, strength: strength)
        }
        timesteps = Array(schedulerTimesteps[beginIndex...])
    }

    /// Sets the scheduler's timesteps for `steps`, cuts them for `strength` and sets the scheduler's begin index:
    /// what the img2img pipeline does before noising the image latents at `latentTimestep`.
    public static func prepare<S: DiffusionScheduler>(_ scheduler: inout S, steps: Int, strength: Double) throws -> Img2ImgTimesteps {
        guard steps >= 1, steps <= scheduler.maxSteps else { throw Img2ImgTimestepsError.invalidSteps(steps) }
        scheduler.setTimesteps(steps)
        let cut = try Img2ImgTimesteps(steps: steps, strength: strength, schedulerTimesteps: scheduler.timesteps,
                                       order: scheduler.order)
        scheduler.setBeginIndex(cut.beginIndex)
        return cut
    }
}
