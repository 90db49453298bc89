/// The second-order update of DPM-Solver multistep (diffusers `solver_type`). diffusers maps UniPC's and DEIS's
/// solver types (`bh1`, `bh2`, `logrho`) to `midpoint` when a DPM-Solver scheduler is made from their configs.
public enum DPMSolverType: String, Sendable, CaseIterable {
    case midpoint
    case heun
}
