/// The scheduler classes this engine implements, named like diffusers' classes.
public enum SchedulerType: String, Sendable, CaseIterable {
    case ddim = "DDIMScheduler"
    case dpmSolverMultistep = "DPMSolverMultistepScheduler"
    case eulerDiscrete = "EulerDiscreteScheduler"
    case lcm = "LCMScheduler"
    case tcd = "TCDScheduler"

    /// diffusers' class name (`DDIMScheduler`).
    public var className: String { rawValue }

    /// From a class name (`DDIMScheduler`) or a short name (`ddim`, `dpm`, `dpm++`, `dpmsolver++`,
    /// `dpm-solver-multistep`, `euler`, `euler-discrete`, `lcm`, `tcd`, case-insensitive); nil for anything else.
    public init?(name: String) {
        if let exact = SchedulerType(rawValue: name) { self = exact; return }
        switch name.lowercased() {
        case "ddim", "ddimscheduler": self = .ddim
        case "dpm", "dpm++", "dpmsolver++", "dpm-solver++", "dpm++2m", "dpmsolvermultistep", "dpm-solver-multistep",
             "dpmsolvermultistepscheduler":
            self = .dpmSolverMultistep
        case "euler", "euler-discrete", "eulerdiscrete", "eulerdiscretescheduler": self = .eulerDiscrete
        case "lcm", "lcmscheduler": self = .lcm
        case "tcd", "tcdscheduler": self = .tcd
        default: return nil
        }
    }
}
