import Foundation
import Tensors

/// diffusers' `AutoencoderTiny` (TAESD), fp32, from its folder (`config.json` + `diffusion_pytorch_model.safetensors`):
/// a deterministic encoder (no posterior to sample) and a decoder a few times cheaper than `AutoencoderKL`'s.
///
///     let taesd = try AutoencoderTiny(folder: URL(fileURLWithPath: "taesd"))
///     let latents = taesd.encode(image) * taesd.scalingFactor     // image (B, 3, H, W) in [-1, 1]
///     let decoded = taesd.decode(latents / taesd.scalingFactor)   // (B, 3, H, W) in [-1, 1]
///
/// Keys `encoder.layers.<i>...`, `decoder.layers.<i>...`; every key must be used and have its exact shape.
public struct AutoencoderTiny: Sendable {
    public let config: AutoencoderTinyConfig
    let encoder: EncoderTiny
    let decoder: DecoderTiny

    public var scalingFactor: Float { config.scalingFactor }

    public init(folder: URL, prefer variant: WeightVariant = .full) throws {
        let component = try ComponentFolder(url: folder)
        try self.init(config: try AutoencoderTinyConfig(component.config()), weights: try component.weights(prefer: variant))
    }

    public init(config: AutoencoderTinyConfig, weights: WeightLoader) throws {
        self.config = config
        (encoder, decoder) = try ModelLoadError.converting {
            let encoder = try EncoderTiny(weights.scoped("encoder"), config: config)
            let decoder = try DecoderTiny(weights.scoped("decoder"), config: config)
            try weights.checkAllUsed()
            return (encoder, decoder)
        }
    }

    /// Latents (B, latent_channels, H / f, W / f) of images (B, in_channels, H, W) in [-1, 1].
    public func encode(_ image: Tensor) -> Tensor {
        precondition(image.rank == 4 && image.shape[1] == config.inChannels,
                     "AutoencoderTiny.encode: expected (B, \(config.inChannels), H, W), got \(image.shape)")
        return encoder(image)
    }

    /// Images (B, out_channels, h * f, w * f) in [-1, 1] of latents (B, latent_channels, h, w).
    public func decode(_ latents: Tensor) -> Tensor {
        precondition(latents.rank == 4 && latents.shape[1] == config.latentChannels,
                     "AutoencoderTiny.decode: expected (B, \(config.latentChannels), h, w), got \(latents.shape)")
        return decoder(latents)
    }
}
