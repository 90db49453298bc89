import Foundation

/// The settings of a DDIM or DPM-Solver multistep scheduler, read from any diffusers `scheduler_config.json` the way
/// `XScheduler.from_config(file_config, **overrides)` reads it (see `init(_:for:overrides:)`), or built in code from
/// `init(defaultsFor:)`.
///
/// Fields mean what the diffusers config keys of the same name mean. The class-specific ones are kept for both
/// classes (with the target's defaults) and used only by their class: `clipSample`, `clipSampleRange`,
/// `setAlphaToOne` by DDIM; `solverOrder` ... `lambdaMinClipped` by DPM-Solver.
///
/// Only what the Swift schedulers implement can be represented: thresholding, Karras / exponential / beta / lu
/// sigmas, flow sigmas, learned variance and the SDE or non-`++` DPM-Solver algorithms are rejected when parsing.
public struct SchedulerConfig: Sendable, Equatable {
    /// The class the config is for (its defaults fill what the file leaves out).
    public var scheduler: SchedulerType

    // Common to both classes.
    public var numTrainTimesteps: Int = 1000
    public var betaStart: Double = 0.0001
    public var betaEnd: Double = 0.02
    public var betaSchedule: BetaSchedule = .linear
    /// `trained_betas`: when set, used instead of the beta schedule (one value per training timestep).
    public var trainedBetas: [Double]? = nil
    public var predictionType: PredictionType = .epsilon
    public var timestepSpacing: TimestepSpacing
    public var stepsOffset: Int = 0
    public var rescaleBetasZeroSNR: Bool = false

    // DDIM (diffusers' DDIMScheduler defaults).
    public var clipSample: Bool = true
    public var clipSampleRange: Double = 1.0
    public var setAlphaToOne: Bool = true

    // DPM-Solver multistep (diffusers' DPMSolverMultistepScheduler defaults; algorithm_type is always dpmsolver++).
    /// 1, 2 or 3.
    public var solverOrder: Int = 2
    public var solverType: DPMSolverType = .midpoint
    public var lowerOrderFinal: Bool = true
    public var eulerAtFinal: Bool = false
    /// Also Euler's (`final_sigmas_type`, the same two values and default).
    public var finalSigmasType: DPMFinalSigmas = .zero
    /// Timesteps whose log-SNR lambda is below this are left out of `setTimesteps` (-inf: none).
    public var lambdaMinClipped: Double = -.infinity

    /// diffusers' defaults for the class (what `XScheduler()` uses).
    // LCM and TCD (diffusers' LCMScheduler / TCDScheduler defaults; they also read clipSample, clipSampleRange and
    // setAlphaToOne, with clip_sample false by default).
    /// The distillation schedule's length: inference timesteps are picked from T / n - 1, 2T / n - 1, ... T - 1.
    public var originalInferenceSteps: Int = 50
    /// The consistency boundary condition's time scale (c_skip, c_out of t x this).
    public var timestepScaling: Double = 10

    public init(defaultsFor scheduler: SchedulerType) {
        self.scheduler = scheduler
        timestepSpacing = Self.defaultTimestepSpacing(scheduler)
        if scheduler == .lcm || scheduler == .tcd { clipSample = false }
    }

    /// The class's default `timestep_spacing`: `leading` for DDIM, `linspace` for DPM-Solver multistep and Euler.
    public static func defaultTimestepSpacing(_ scheduler: SchedulerType) -> TimestepSpacing {
        switch scheduler {
        case .ddim: return .leading
        case .dpmSolverMultistep, .eulerDiscrete: return .linspace
        case .lcm, .tcd: return .leading  // unused: their timesteps come from the distillation schedule
        }
    }

    /// The training noise levels (betas, alphas_cumprod) of this config.
    public var noiseSchedule: NoiseSchedule { NoiseSchedule(config: self) }
}
