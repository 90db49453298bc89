import Foundation

/// How the training betas are laid out (diffusers `beta_schedule`). `betas` reproduces diffusers' float32 values
/// bit for bit: see `Tests/DiffusionTests/Fixtures/schedulers/README.md`.
public enum BetaSchedule: String, Sendable, CaseIterable {
    /// `torch.linspace(beta_start, beta_end, T)` in float32.
    case linear
    /// `torch.linspace(sqrt(beta_start), sqrt(beta_end), T) ** 2` in float32 (Stable Diffusion).
    case scaledLinear = "scaled_linear"
    /// The cosine schedule of Nichol & Dhariwal (`betas_for_alpha_bar`, computed in float64, capped at 0.999).
    case squaredcosCapV2 = "squaredcos_cap_v2"

    /// The T betas, as float32 like diffusers' `self.betas`. `betaStart` / `betaEnd` are unused by the cosine
    /// schedule.
    public func betas(count: Int, betaStart: Double, betaEnd: Double) -> [Float] {
        precondition(count >= 1, "BetaSchedule.betas: count must be at least 1, got \(count)")
        switch self {
        case .linear:
            return Self.torchLinspace(Float(betaStart), Float(betaEnd), count)
        case .scaledLinear:
            // Python's `beta_start**0.5` is pow(x, 0.5) in float64; torch then rounds it to float32.
            return Self.torchLinspace(Float(pow(betaStart, 0.5)), Float(pow(betaEnd, 0.5)), count).map { $0 * $0 }
        case .squaredcosCapV2:
            return Self.betasForAlphaBar(count: count, maxBeta: 0.999)
        }
    }

    /// torch's CPU float32 linspace kernel: `start + step * i` below the halfway index and `end - step * (n - 1 - i)`
    /// from it, with step = (end - start) / (n - 1) in float32. The x86-64 build of torch compiles both with a fused
    /// multiply-add (checked against torch 2.15 on AVX2); `addingProduct` is that single rounding.
    static func torchLinspace(_ start: Float, _ end: Float, _ count: Int) -> [Float] {
        if count == 1 { return [start] }
        let step = (end - start) / Float(count - 1)
        let halfway = count / 2
        return (0..<count).map { i in
            i < halfway ? start.addingProduct(step, Float(i)) : end.addingProduct(-step, Float(count - i - 1))
        }
    }

    /// diffusers' `betas_for_alpha_bar(T, max_beta, "cosine")`: float64, then rounded to float32.
    static func betasForAlphaBar(count: Int, maxBeta: Double) -> [Float] {
        func alphaBar(_ t: Double) -> Double { pow(cos((t + 0.008) / 1.008 * Double.pi / 2), 2) }
        return (0..<count).map { i in
            let t1 = Double(i) / Double(count)
            let t2 = Double(i + 1) / Double(count)
            return Float(min(1 - alphaBar(t2) / alphaBar(t1), maxBeta))
        }
    }
}
