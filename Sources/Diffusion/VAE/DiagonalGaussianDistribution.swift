import Foundation
import Tensors

/// The VAE's posterior, diffusers' `DiagonalGaussianDistribution`: the encoder's moments (B, 2C, h, w) split
/// along channels into `mean` and `logvar` (clamped to [-30, 20]); `std = exp(logvar / 2)`.
public struct DiagonalGaussianDistribution: Sendable {
    /// (B, C, h, w).
    public let mean: Tensor
    /// Clamped to [-30, 20], (B, C, h, w).
    public let logvar: Tensor
    /// exp(0.5 logvar).
    public let std: Tensor

    public init(moments: Tensor) {
        precondition(moments.rank == 4 && moments.shape[1] % 2 == 0,
                     "DiagonalGaussianDistribution: moments must be (B, 2C, h, w), got \(moments.shape)")
        let (b, c2, h, w) = (moments.shape[0], moments.shape[1], moments.shape[2], moments.shape[3])
        let c = c2 / 2, plane = c * h * w
        var mean = [Float](), logvar = [Float](), std = [Float]()
        mean.reserveCapacity(b * plane); logvar.reserveCapacity(b * plane); std.reserveCapacity(b * plane)
        moments.scalars.withUnsafeBufferPointer { m in
            for i in 0..<b {
                let base = i * 2 * plane
                mean.append(contentsOf: m[base..<base + plane])
                for j in 0..<plane {
                    let lv = Swift.min(Swift.max(m[base + plane + j], -30), 20)
                    logvar.append(lv)
                    std.append(Foundation.exp(0.5 * lv))
                }
            }
        }
        self.mean = Tensor(shape: [b, c, h, w], scalars: mean)
        self.logvar = Tensor(shape: [b, c, h, w], scalars: logvar)
        self.std = Tensor(shape: [b, c, h, w], scalars: std)
    }

    /// exp(logvar).
    public var variance: Tensor { std * std }

    /// mean + std * noise, with `noise` standard normal of the mean's shape (diffusers' `sample(generator)`
    /// with the noise drawn outside).
    public func sample(noise: Tensor) -> Tensor {
        precondition(noise.shape == mean.shape, "DiagonalGaussianDistribution.sample: noise \(noise.shape), expected \(mean.shape)")
        return mean + std * noise
    }

    /// The mean (diffusers' `mode()`).
    public func mode() -> Tensor { mean }
}
