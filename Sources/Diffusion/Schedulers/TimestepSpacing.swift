/// How `setTimesteps(n)` picks n of the training timesteps (diffusers `timestep_spacing`; table 2 of "Common
/// Diffusion Noise Schedules and Sample Steps are Flawed"). The default depends on the scheduler class: DDIM
/// `leading`, DPM-Solver multistep `linspace`.
public enum TimestepSpacing: String, Sendable, CaseIterable {
    /// Evenly spread over [0, T - 1], rounded.
    case linspace
    /// Multiples of T / n (integer division) from 0, plus `steps_offset`.
    case leading
    /// Counted down from T by T / n (float), rounded, minus 1: always starts at T - 1.
    case trailing
}
