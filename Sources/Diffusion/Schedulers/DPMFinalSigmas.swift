/// The sigma after the last step of DPM-Solver multistep (diffusers `final_sigmas_type`): `zero` denoises fully
/// (and forces a first-order last step), `sigmaMin` stops at the smallest training sigma.
public enum DPMFinalSigmas: String, Sendable, CaseIterable {
    case zero
    case sigmaMin = "sigma_min"
}
