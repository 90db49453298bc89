import Foundation
import Tensors

/// The random draws of one img2img run, by name, so other implementations can be compared exactly
/// (`dataengine generate --noise FILE.safetensors`, and the keys of the parity fixtures):
///
///     posterior_noise   (1, latent_channels, h, w)   the VAE posterior sample: mean + std * noise
///     latent_noise      (1, latent_channels, h, w)   added to the reference latent at the first kept timestep
///     step_noise.<i>    (1, latent_channels, h, w)   DDIM with eta > 0: the variance noise of kept step i (0-based)
///
/// A run either reads them from a file or draws them from a seed: each key has its own standard-normal
/// stream derived from (seed, key), so a tensor does not depend on which other keys a run needs.
public struct DiffusionNoise: Sendable {
    public static let posteriorKey = "posterior_noise"
    public static let latentKey = "latent_noise"
    public static func stepKey(_ index: Int) -> String { "step_noise.\(index)" }
    /// The noise of the `final-latent` label mode: the final latent noised again to the adapter's timestep.
    public static let relabelKey = "relabel_noise"

    enum Source: Sendable {
        case seeded(UInt64)
        case given([String: Tensor], file: String)
    }

    let source: Source

    /// Draws every tensor from `seed`.
    public init(seed: UInt64) { source = .seeded(seed) }

    /// Given tensors (keys as above).
    public init(tensors: [String: Tensor], file: String = "given noise") { source = .given(tensors, file: file) }

    /// Reads a safetensors file with the keys above (float32, float16 or bfloat16).
    public init(file url: URL) throws {
        let file = try SafeTensorsFile(url: url)
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        source = .given(tensors, file: url.path)
    }

    /// The noise `key` of `shape`: drawn, or read and checked.
    public func tensor(_ key: String, shape: [Int]) throws -> Tensor {
        switch source {
        case .seeded(let seed):
            return GaussianNoise.tensor(shape: shape, seed: seed, stream: key)
        case .given(let tensors, let file):
            guard let t = tensors[key] else {
                throw ModelLoadError(file: file, key: key, message: "missing noise tensor (needed shape \(shape)); the file has: \(tensors.keys.sorted().joined(separator: ", "))",
                                     hint: "add `\(key)` to the noise file (see `dataengine generate --help` for the keys), or use --seed instead of --noise")
            }
            guard t.shape == shape else {
                throw ModelLoadError(file: file, key: key, message: "shape \(t.shape), expected \(shape)",
                                     hint: "the noise was made for another image size or model: latents are the image size divided by the VAE factor")
            }
            return t
        }
    }
}

/// Standard-normal samples from SplitMix64 (Box-Muller), deterministic in (seed, stream name).
enum GaussianNoise {
    static func tensor(shape: [Int], seed: UInt64, stream: String) -> Tensor {
        let count = shape.reduce(1, *)
        var state = stream.utf8.reduce(seed ^ 0x6A09E667F3BCC909) { ($0 ^ UInt64($1)) &* 0x100000001b3 }
        func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        var scalars = [Float](repeating: 0, count: count)
        var i = 0
        while i < count {
            // u1 in (0, 1], u2 in [0, 1): 53-bit uniforms.
            let u1 = (Double(next() >> 11) + 1) / 9007199254740992.0
            let u2 = Double(next() >> 11) / 9007199254740992.0
            let r = (-2 * Foundation.log(u1)).squareRoot()
            scalars[i] = Float(r * cos(2 * .pi * u2))
            if i + 1 < count { scalars[i + 1] = Float(r * sin(2 * .pi * u2)) }
            i += 2
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}
