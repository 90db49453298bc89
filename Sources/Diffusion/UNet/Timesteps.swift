import Foundation
import Tensors

/// diffusers' `Timesteps` / `get_timestep_embedding`: sinusoidal embeddings of (possibly fractional)
/// timesteps, computed in float32 in the same order as PyTorch:
///
///     half = dim / 2
///     freq[i] = exp(-ln(max_period) * i / (half - downscale_freq_shift))        i = 0 ..< half
///     arg[b, i] = t[b] * freq[i]
///     emb = [sin(arg), cos(arg)]   ([cos, sin] with flip_sin_to_cos), zero-padded when dim is odd
///
/// The UNet passes `freq_shift` as `downscale_freq_shift` and a scale of 1.
struct Timesteps: Sendable {
    let channels: Int
    let flipSinToCos: Bool
    let downscaleFreqShift: Float
    let maxPeriod: Float

    init(channels: Int, flipSinToCos: Bool, downscaleFreqShift: Float, maxPeriod: Float = 10000) {
        self.channels = channels
        self.flipSinToCos = flipSinToCos
        self.downscaleFreqShift = downscaleFreqShift
        self.maxPeriod = maxPeriod
    }

    /// (timesteps.count, channels).
    func callAsFunction(_ timesteps: [Float]) -> Tensor {
        let half = channels / 2
        // PyTorch: exponent = -math.log(max_period) * arange(half, float32), then / (half - shift), exp.
        let logPeriod = Float(-Foundation.log(Double(maxPeriod)))
        let frequencies = (0..<half).map { i in expf(logPeriod * Float(i) / (Float(half) - downscaleFreqShift)) }
        var scalars = [Float](repeating: 0, count: timesteps.count * channels)
        for (b, t) in timesteps.enumerated() {
            let row = b * channels
            for i in 0..<half {
                let arg = t * frequencies[i]
                let (s, c) = (sinf(arg), cosf(arg))
                scalars[row + i] = flipSinToCos ? c : s
                scalars[row + half + i] = flipSinToCos ? s : c
            }
        }
        return Tensor(shape: [timesteps.count, channels], scalars: scalars)
    }
}

/// diffusers' `TimestepEmbedding`: `linear_2(silu(linear_1(t_emb)))`, keys `linear_1`, `linear_2`.
struct TimestepEmbedding: Sendable {
    let linear1: LinearLayer
    let linear2: LinearLayer

    init(_ weights: WeightLoader, inChannels: Int, timeEmbeddingDim: Int) throws {
        linear1 = try LinearLayer(weights.scoped("linear_1"), inFeatures: inChannels, outFeatures: timeEmbeddingDim)
        linear2 = try LinearLayer(weights.scoped("linear_2"), inFeatures: timeEmbeddingDim, outFeatures: timeEmbeddingDim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { linear2(linear1(x).silu()) }
}
