import Foundation
import Tensors

/// diffusers' `DPMSolverMultistepScheduler` with `algorithm_type="dpmsolver++"` (Lu et al., DPM-Solver++; "DPM++ 2M"
/// with order 2): data-prediction multistep updates of order 1, 2 or 3 (midpoint or heun second-order form),
/// `lower_order_final`, `euler_at_final`, final sigma zero or sigma_min, linspace / leading / trailing spacing,
/// `lambda_min_clipped`, begin index for img2img. Matches diffusers 0.42.1 in float32, operation by operation.
///
/// It keeps state between steps (the last `solverOrder` data predictions, the step index): step once per
/// timestep, in order, after `setTimesteps` (and `setBeginIndex` for img2img).
public struct DPMSolverMultistepScheduler: DiffusionScheduler {
    public let config: SchedulerConfig
    /// The training noise levels; with zero-terminal-SNR rescaling the last alphas_cumprod is set to 2^-24 like
    /// diffusers does (so that the last sigma is finite).
    public let noiseSchedule: NoiseSchedule
    public private(set) var timesteps: [Int]
    /// sqrt((1 - alphas_cumprod) / alphas_cumprod) at each timestep, then the final sigma (0 or sigma_min):
    /// `timesteps.count + 1` values after `setTimesteps`. Before, one per training timestep.
    public private(set) var sigmas: [Float]
    /// timesteps.count after `setTimesteps` (nil before).
    public private(set) var numInferenceSteps: Int?
    /// The index into `timesteps` / `sigmas` of the next step (nil until the first step).
    public private(set) var stepIndex: Int?
    /// Set by `setBeginIndex` (img2img); nil: the first step looks its timestep up.
    public private(set) var beginIndex: Int?
    public let order = 1
    public let initNoiseSigma: Float = 1

    /// The last `solverOrder` data predictions (x0), oldest first; nil where none yet.
    private var modelOutputs: [Tensor?]
    private var lowerOrderNums = 0
    /// alphas_cumprod's sigmas, one per training timestep (float32).
    private let trainSigmas: [Float]
    /// log(alpha_t) - log(sigma_t) per training timestep (float32), for `lambda_min_clipped`.
    private let trainLambdas: [Float]

    public init(config: SchedulerConfig) {
        precondition(config.scheduler == .dpmSolverMultistep,
                     "DPMSolverMultistepScheduler needs a config read for DPMSolverMultistepScheduler (defaults differ by class), got \(config.scheduler)")
        precondition((1...3).contains(config.solverOrder), "DPMSolverMultistepScheduler: solver order \(config.solverOrder), not 1...3")
        self.config = config
        var schedule = NoiseSchedule(config: config)
        if config.rescaleBetasZeroSNR {
            var cumprod = schedule.alphasCumprod
            cumprod[cumprod.count - 1] = 0x1p-24
            schedule = NoiseSchedule(betas: schedule.betas, alphas: schedule.alphas, alphasCumprod: cumprod)
        }
        noiseSchedule = schedule
        trainSigmas = schedule.alphasCumprod.map { ((1 - $0) / $0).squareRoot() }
        trainLambdas = schedule.alphasCumprod.map { log($0.squareRoot()) - log((1 - $0).squareRoot()) }
        timesteps = Array((0..<config.numTrainTimesteps).reversed())
        sigmas = trainSigmas
        modelOutputs = Array(repeating: nil, count: config.solverOrder)
    }

    public var alphasCumprod: [Float] { noiseSchedule.alphasCumprod }

    public mutating func setTimesteps(_ count: Int) {
        let t = config.numTrainTimesteps
        precondition((1...t).contains(count),
                     "DPMSolverMultistepScheduler.setTimesteps: \(count) steps; the model was trained with \(t) timesteps, use 1...\(t)")
        // torch.searchsorted(flip(lambda_t), lambda_min_clipped): how many of the noisiest timesteps have a lambda
        // below the clip (binary search, like torch); they are left out.
        let lastTimestep = t - Self.lowerBound(Array(trainLambdas.reversed()), Float(config.lambdaMinClipped))
        switch config.timestepSpacing {
        case .linspace:
            let values = NumpySpacing.linspace(0, Double(lastTimestep - 1), count: count + 1)
            timesteps = Array(NumpySpacing.roundedToInt(values).reversed().dropLast())
        case .leading:
            let ratio = lastTimestep / (count + 1)
            timesteps = (1...count).reversed().map { $0 * ratio + config.stepsOffset }
        case .trailing:
            let ratio = Double(t) / Double(count)
            timesteps = NumpySpacing.roundedToInt(NumpySpacing.arange(Double(lastTimestep), 0, step: -ratio)).map { $0 - 1 }
        }
        // np.interp at integer timesteps is the table value (clamped to the ends outside it).
        var sigmas = timesteps.map { trainSigmas[Swift.min(Swift.max($0, 0), trainSigmas.count - 1)] }
        switch config.finalSigmasType {
        case .zero: sigmas.append(0)
        case .sigmaMin: sigmas.append(trainSigmas[0])
        }
        self.sigmas = sigmas
        numInferenceSteps = timesteps.count
        modelOutputs = Array(repeating: nil, count: config.solverOrder)
        lowerOrderNums = 0
        stepIndex = nil
        beginIndex = nil
    }

    public mutating func setBeginIndex(_ index: Int) {
        precondition(index >= 0, "DPMSolverMultistepScheduler.setBeginIndex: \(index) < 0")
        beginIndex = index
    }

    /// diffusers' `index_for_timestep`: the timestep's index in `timesteps`; the second match when it occurs twice
    /// (so that img2img starting mid-schedule does not skip a sigma), the last index when absent.
    public func index(for timestep: Int) -> Int {
        let matches = timesteps.indices.filter { timesteps[$0] == timestep }
        if matches.isEmpty { return timesteps.count - 1 }
        return matches.count > 1 ? matches[1] : matches[0]
    }

    /// diffusers' `step`: converts the model output to a data prediction, then takes a first-, second- or third-order
    /// step from `sigmas[stepIndex]` to `sigmas[stepIndex + 1]`. `noise` is unused (no SDE variant).
    public mutating func step(modelOutput: Tensor, timestep: Int, sample: Tensor, noise: Tensor?) -> Tensor {
        guard numInferenceSteps != nil else { preconditionFailure("DPMSolverMultistepScheduler.step: call setTimesteps first") }
        precondition(modelOutput.shape == sample.shape,
                     "DPMSolverMultistepScheduler.step: model output \(modelOutput.shape) vs sample \(sample.shape)")
        let index = stepIndex ?? beginIndex ?? self.index(for: timestep)
        precondition(index + 1 < sigmas.count,
                     "DPMSolverMultistepScheduler.step: step \(index) but the schedule has \(timesteps.count) timesteps")
        let count = timesteps.count
        let lowerOrderFinal = index == count - 1
            && (config.eulerAtFinal || (config.lowerOrderFinal && count < 15) || config.finalSigmasType == .zero)
        let lowerOrderSecond = index == count - 2 && config.lowerOrderFinal && count < 15

        let x0 = dataPrediction(modelOutput, sample: sample, sigma: sigmas[index])
        modelOutputs.removeFirst()
        modelOutputs.append(x0)

        let previous: Tensor
        if config.solverOrder == 1 || lowerOrderNums < 1 || lowerOrderFinal {
            previous = firstOrderUpdate(x0, sample: sample, index: index)
        } else if config.solverOrder == 2 || lowerOrderNums < 2 || lowerOrderSecond {
            previous = secondOrderUpdate(sample: sample, index: index)
        } else {
            previous = thirdOrderUpdate(sample: sample, index: index)
        }
        if lowerOrderNums < config.solverOrder { lowerOrderNums += 1 }
        stepIndex = index + 1
        return previous
    }

    /// diffusers' `add_noise`: alpha_t * original + sigma_t * noise at the sigma of the begin index (img2img), of
    /// the current step once stepping has started, or of the timestep's index when no begin index is set.
    public func addNoise(original: Tensor, noise: Tensor, timestep: Int) -> Tensor {
        precondition(original.shape == noise.shape, "DPMSolverMultistepScheduler.addNoise: original \(original.shape) vs noise \(noise.shape)")
        let index: Int
        if let beginIndex {
            index = stepIndex ?? beginIndex
        } else {
            index = self.index(for: timestep)
        }
        precondition(sigmas.indices.contains(index), "DPMSolverMultistepScheduler.addNoise: index \(index) outside the sigmas")
        let (alpha, sigma) = Self.alphaSigma(sigmas[index])
        return original * alpha + noise * sigma
    }

    // MARK: - Updates (float32 scalars like diffusers' 0-d tensors, tensor operations in its order)

    /// `_sigma_to_alpha_sigma_t`: alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t.
    static func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
        let alpha = 1 / (sigma * sigma + 1).squareRoot()
        return (alpha, sigma * alpha)
    }

    /// lambda = log(alpha_t) - log(sigma_t) at sigmas[index], with alpha_t and sigma_t.
    private func levels(_ index: Int) -> (alpha: Float, sigma: Float, lambda: Float) {
        let (alpha, sigma) = Self.alphaSigma(sigmas[index])
        return (alpha, sigma, log(alpha) - log(sigma))
    }

    /// `convert_model_output` for dpmsolver++: the predicted clean sample.
    private func dataPrediction(_ modelOutput: Tensor, sample: Tensor, sigma: Float) -> Tensor {
        switch config.predictionType {
        case .epsilon:
            let (alpha, sigmaT) = Self.alphaSigma(sigma)
            return (sample - modelOutput * sigmaT) / alpha
        case .sample:
            return modelOutput
        case .vPrediction:
            let (alpha, sigmaT) = Self.alphaSigma(sigma)
            return sample * alpha - modelOutput * sigmaT
        }
    }

    private func firstOrderUpdate(_ x0: Tensor, sample: Tensor, index: Int) -> Tensor {
        let t = levels(index + 1), s = levels(index)
        let h = t.lambda - s.lambda
        return sample * (t.sigma / s.sigma) - x0 * (t.alpha * (exp(-h) - 1))
    }

    private func secondOrderUpdate(sample: Tensor, index: Int) -> Tensor {
        let t = levels(index + 1), s0 = levels(index), s1 = levels(index - 1)
        let m0 = modelOutputs[modelOutputs.count - 1]!, m1 = modelOutputs[modelOutputs.count - 2]!
        let h = t.lambda - s0.lambda, h0 = s0.lambda - s1.lambda
        let r0 = h0 / h
        let d1 = (m0 - m1) * (1 / r0)
        let expm1 = exp(-h) - 1
        switch config.solverType {
        case .midpoint:
            return sample * (t.sigma / s0.sigma) - m0 * (t.alpha * expm1) - d1 * (0.5 * (t.alpha * expm1))
        case .heun:
            return sample * (t.sigma / s0.sigma) - m0 * (t.alpha * expm1) + d1 * (t.alpha * (expm1 / h + 1))
        }
    }

    private func thirdOrderUpdate(sample: Tensor, index: Int) -> Tensor {
        let t = levels(index + 1), s0 = levels(index), s1 = levels(index - 1), s2 = levels(index - 2)
        let n = modelOutputs.count
        let m0 = modelOutputs[n - 1]!, m1 = modelOutputs[n - 2]!, m2 = modelOutputs[n - 3]!
        let h = t.lambda - s0.lambda, h0 = s0.lambda - s1.lambda, h1 = s1.lambda - s2.lambda
        let r0 = h0 / h, r1 = h1 / h
        let d10 = (m0 - m1) * (1 / r0), d11 = (m1 - m2) * (1 / r1)
        let d1 = d10 + (d10 - d11) * (r0 / (r0 + r1))
        let d2 = (d10 - d11) * (1 / (r0 + r1))
        let expm1 = exp(-h) - 1
        return sample * (t.sigma / s0.sigma)
            - m0 * (t.alpha * expm1)
            + d1 * (t.alpha * (expm1 / h + 1))
            - d2 * (t.alpha * ((expm1 + h) / (h * h) - 0.5))
    }

    /// torch.searchsorted (left): the first index whose value is not below `value` in an ascending sequence.
    private static func lowerBound(_ values: [Float], _ value: Float) -> Int {
        var start = 0, end = values.count
        while start < end {
            let mid = start + (end - start) / 2
            if !(values[mid] >= value) { start = mid + 1 } else { end = mid }
        }
        return start
    }
}
