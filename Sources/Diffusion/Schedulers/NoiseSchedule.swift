/// The training noise levels a scheduler is built on: diffusers' `betas`, `alphas` and `alphas_cumprod` (all
/// float32 tensors there, float32 here, equal bit for bit).
public struct NoiseSchedule: Sendable, Equatable {
    public let betas: [Float]
    /// 1 - betas.
    public let alphas: [Float]
    /// The running product of `alphas`. torch's CPU cumprod accumulates float32 inputs in float64 and rounds each
    /// partial product to float32; this does the same.
    public let alphasCumprod: [Float]

    /// From the config's beta schedule or `trained_betas`, rescaled to zero terminal SNR when the config asks.
    public init(config: SchedulerConfig) {
        var betas: [Float]
        if let trained = config.trainedBetas {
            betas = trained.map { Float($0) }
        } else {
            betas = config.betaSchedule.betas(count: config.numTrainTimesteps, betaStart: config.betaStart,
                                              betaEnd: config.betaEnd)
        }
        if config.rescaleBetasZeroSNR { betas = Self.rescaledToZeroTerminalSNR(betas) }
        self.init(betas: betas)
    }

    public init(betas: [Float]) {
        self.betas = betas
        alphas = betas.map { 1 - $0 }
        alphasCumprod = Self.cumulativeProduct(alphas)
    }

    /// The three tables as given (DPM-Solver's zero-SNR variant changes only the last alphas_cumprod).
    init(betas: [Float], alphas: [Float], alphasCumprod: [Float]) {
        self.betas = betas
        self.alphas = alphas
        self.alphasCumprod = alphasCumprod
    }

    static func cumulativeProduct(_ values: [Float]) -> [Float] {
        var product: Double = 1
        return values.map { v in
            product *= Double(v)
            return Float(product)
        }
    }

    /// diffusers' `rescale_zero_terminal_snr` (Lin et al. 2023, algorithm 1), in float32 like its torch code: the
    /// last alphas_cumprod becomes 0.
    static func rescaledToZeroTerminalSNR(_ betas: [Float]) -> [Float] {
        let cumprod = cumulativeProduct(betas.map { 1 - $0 })
        var sqrtBar = cumprod.map { $0.squareRoot() }
        let first = sqrtBar[0], last = sqrtBar[sqrtBar.count - 1]
        let scale = first / (first - last)
        sqrtBar = sqrtBar.map { ($0 - last) * scale }
        let bar = sqrtBar.map { $0 * $0 }
        var alphas = [bar[0]]
        for i in 1..<bar.count { alphas.append(bar[i] / bar[i - 1]) }
        return alphas.map { 1 - $0 }
    }
}
