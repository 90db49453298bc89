/// Why an img2img schedule cannot be cut (see `Img2ImgTimesteps`).
public enum Img2ImgTimestepsError: Error, Equatable, CustomStringConvertible {
    /// int(steps * strength) is 0: no denoising step would run (diffusers fails on an empty schedule).
    case noStepKept(steps: Int, strength: Double)
    /// Strength outside [0, 1] (diffusers' `check_inputs` refuses it too).
    case invalidStrength(Double)
    /// Fewer than one step, or more than the scheduler's training timesteps.
    case invalidSteps(Int)

    public var description: String {
        switch self {
        case .noStepKept(let steps, let strength):
            return "img2img strength \(strength) with \(steps) steps runs no denoising step (int(\(steps) * \(strength)) = 0): "
                + "use a strength of at least \(Self.minimumStrength(steps)) or more steps"
        case .invalidStrength(let strength):
            return "img2img strength must be between 0 and 1, got \(strength)"
        case .invalidSteps(let steps):
            return "img2img needs at least one inference step (and no more than the scheduler's training timesteps; LCM and TCD: no more than original_inference_steps, 50), got \(steps)"
        }
    }

    /// The smallest strength that keeps a step: 1 / steps (rounded up to 4 decimals for the message).
    static func minimumStrength(_ steps: Int) -> Double {
        var s = (1.0 / Double(steps) * 10_000).rounded(.up) / 10_000
        while Int(Double(steps) * s) < 1 { s += 0.0001 }
        return s
    }
}
