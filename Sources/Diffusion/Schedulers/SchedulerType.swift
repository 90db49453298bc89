/// The scheduler classes this engine implements, named like diffusers' classes.
public enum SchedulerType: String, Sendable, CaseIterable {
    case ddim = "DDIMScheduler"
    case dpmSolverMultistep = "DPMSolverMultistepScheduler"
    case eulerDiscrete = "EulerDiscreteScheduler"

    /// diffusers' class name (`DDIMScheduler`).
    public var className: String { rawValue }

    /// From a class name (`DDIMScheduler`) or a short name (`ddim`, `dpm`, `dpm++`, `dpmsolver++`,
    /// `dpm-solver-multistep`, `euler`, `euler-discrete`, case-insensitive); nil for anything else.
    public init?(name: String) {
        if let exact = SchedulerType(rawValue: name) { self = exact; return }
        switch name.lowercased() {
        case "ddim", "ddimscheduler": self = .ddim
        case "dpm", "dpm++", "dpmsolver++", "dpm-solver++", "dpm++2m", "dpmsolvermultistep", "dpm-solver-multistep",
             "dpmsolvermultistepscheduler":
            self = .dpmSolverMultistep
        case "euler", "euler-discrete", "eulerdiscrete", "eulerdiscretescheduler": self = .eulerDiscrete
        default: return nil
        }
    }
}
