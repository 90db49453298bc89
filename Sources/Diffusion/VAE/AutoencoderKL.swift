import Foundation
import Tensors

/// diffusers' `AutoencoderKL` (the Stable Diffusion VAE), fp32, from a diffusers `vae/` folder.
///
///     let vae = try AutoencoderKL(folder: modelURL.appendingPathComponent("vae"))
///     let posterior = vae.encode(image)                       // image (B, 3, H, W) in [-1, 1]
///     let latents = posterior.sample(noise: noise) * vae.scalingFactor
///     let decoded = vae.decode(latents / vae.scalingFactor)   // (B, 3, H, W), roughly [-1, 1], not clamped
///
/// Keys: `encoder.*`, `quant_conv` (1x1, 2L -> 2L), `post_quant_conv` (1x1, L -> L), `decoder.*`. Every
/// key of the checkpoint must be used and every key the config implies must be present with its exact
/// shape; otherwise loading fails with a `ModelLoadError` naming the key and the file.
public struct AutoencoderKL: Sendable {
    public let config: AutoencoderKLConfig
    let encoder: VAEEncoder
    let decoder: VAEDecoder
    let quantConv: Conv2DLayer?
    let postQuantConv: Conv2DLayer?

    /// The latent scale of the model (`scaling_factor`, 0.18215 for SD 1.x): diffusion runs on
    /// `sample * scalingFactor`, and `decode` takes latents already divided by it.
    public var scalingFactor: Float { config.scalingFactor }
    /// `shift_factor` (nil for SD 1.x/2.x/XL).
    public var shiftFactor: Float? { config.shiftFactor }

    /// From a VAE folder (`config.json` + `diffusion_pytorch_model[.fp16].safetensors` or shards).
    public init(folder: URL, prefer variant: WeightVariant = .full) throws {
        try self.init(component: try ComponentFolder(url: folder), prefer: variant)
    }

    /// From a pipeline folder's `vae` component.
    public init(modelFolder: ModelFolder, prefer variant: WeightVariant = .full) throws {
        try self.init(component: try modelFolder.component("vae"), prefer: variant)
    }

    public init(component: ComponentFolder, prefer variant: WeightVariant = .full) throws {
        let config = try AutoencoderKLConfig(component.config())
        try self.init(config: config, weights: try component.weights(prefer: variant))
    }

    /// From a parsed config and the weights' root scope. Weight errors come as `ModelLoadError`.
    public init(config: AutoencoderKLConfig, weights: WeightLoader) throws {
        self.config = config
        let latent = config.latentChannels
        (encoder, decoder, quantConv, postQuantConv) = try ModelLoadError.converting {
            let encoder = try VAEEncoder(weights.scoped("encoder"), config: config)
            let decoder = try VAEDecoder(weights.scoped("decoder"), config: config)
            let quant = config.useQuantConv
                ? try Conv2DLayer(weights.scoped("quant_conv"), inChannels: 2 * latent, outChannels: 2 * latent, kernel: 1) : nil
            let postQuant = config.usePostQuantConv
                ? try Conv2DLayer(weights.scoped("post_quant_conv"), inChannels: latent, outChannels: latent, kernel: 1) : nil
            try weights.checkAllUsed()
            return (encoder, decoder, quant, postQuant)
        }
    }

    /// The posterior of images (B, in_channels, H, W) in [-1, 1]. The latent size is ceil-ish: each
    /// downsampling maps n to (n - 1) / 2 + 1 (diffusers' asymmetric padding), so 512 -> 64 at factor 8.
    public func encode(_ image: Tensor) -> DiagonalGaussianDistribution {
        DiagonalGaussianDistribution(moments: moments(image))
    }

    /// The posterior and the encoder's `mid_block` output (B, block_out_channels[-1], h, w) of the same pass: the
    /// 4-channel latent is a bottleneck, the mid block still holds the image's fine detail (adapters with
    /// `vae_encoder_taps` read it).
    public func encodeKeepingMidBlock(_ image: Tensor) -> (posterior: DiagonalGaussianDistribution, midBlock: Tensor) {
        var midBlock: Tensor?
        let moments = moments(image) { name, tensor in if name == "encoder.mid_block" { midBlock = tensor } }
        return (DiagonalGaussianDistribution(moments: moments), midBlock!)
    }

    /// quant_conv(encoder(image)): (B, 2 * latent_channels, h, w), the mean then the raw (unclamped) logvar.
    public func moments(_ image: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        precondition(image.rank == 4 && image.shape[1] == config.inChannels,
                     "AutoencoderKL.encode: expected (B, \(config.inChannels), H, W), got \(image.shape)")
        let h = encoder(image, trace: trace.map { t in { t("encoder.\($0)", $1) } })
        return quantConv.map { $0(h) } ?? h
    }

    /// Images (B, out_channels, h * f, w * f) from latents (B, latent_channels, h, w) that are already
    /// divided by `scalingFactor` (and shifted back, for a VAE with a shift factor), as diffusers'
    /// `vae.decode(z).sample`. Not clamped.
    public func decode(_ latents: Tensor) -> Tensor { decode(latents, trace: nil) }

    func decode(_ latents: Tensor, trace: ((String, Tensor) -> Void)?) -> Tensor {
        precondition(latents.rank == 4 && latents.shape[1] == config.latentChannels,
                     "AutoencoderKL.decode: expected (B, \(config.latentChannels), h, w), got \(latents.shape)")
        let z = postQuantConv.map { $0(latents) } ?? latents
        trace?("decoder.post_quant_conv", z)
        return decoder(z, trace: trace.map { t in { t("decoder.\($0)", $1) } })
    }
}
