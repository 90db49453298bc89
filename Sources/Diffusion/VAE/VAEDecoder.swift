import Tensors

/// diffusers' `Decoder` of the VAE (named VAEDecoder here, as VAEEncoder). Keys under `decoder.`:
///
///     conv_in                      3x3, latent_channels -> block_out_channels[-1]
///     mid_block                    UNetMidBlock2D at block_out_channels[-1]
///     up_blocks.i                  UpDecoderBlock2D over the REVERSED block_out_channels, layers_per_block + 1
///                                  resnets each, upsampling except the last
///     conv_norm_out, SiLU, conv_out  3x3, block_out_channels[0] -> out_channels
struct VAEDecoder: Sendable {
    let convIn: Conv2DLayer
    let midBlock: UNetMidBlock2D
    let upBlocks: [UpDecoderBlock2D]
    let convNormOut: GroupNormLayer
    let convOut: Conv2DLayer

    init(_ weights: WeightLoader, config c: AutoencoderKLConfig) throws {
        let reversed = Array(c.blockOutChannels.reversed()), groups = c.normNumGroups, eps = c.normEps
        let top = reversed[0]
        convIn = try Conv2DLayer(weights.scoped("conv_in"), inChannels: c.latentChannels, outChannels: top, kernel: 3, padding: 1)
        midBlock = try UNetMidBlock2D(weights.scoped("mid_block"), channels: top, groups: groups, eps: eps,
                                      attentionHeadDim: top, addAttention: c.midBlockAddAttention)
        upBlocks = try reversed.indices.map { i in
            try UpDecoderBlock2D(weights.scoped("up_blocks").scoped(i), inChannels: i == 0 ? top : reversed[i - 1],
                                 outChannels: reversed[i], layers: c.layersPerBlock + 1, groups: groups, eps: eps,
                                 addUpsample: i != reversed.count - 1)
        }
        let bottom = c.blockOutChannels[0]
        convNormOut = try GroupNormLayer(weights.scoped("conv_norm_out"), channels: bottom, groups: groups, eps: eps)
        convOut = try Conv2DLayer(weights.scoped("conv_out"), inChannels: bottom, outChannels: c.outChannels, kernel: 3, padding: 1)
    }

    /// Latents (B, latent_channels, h, w), after post_quant_conv -> image (B, out_channels, h * f, w * f).
    /// `trace` receives the outputs of `mid_block` and `up_blocks.i`.
    func callAsFunction(_ z: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var h = midBlock(convIn(z))
        trace?("mid_block", h)
        for (i, block) in upBlocks.enumerated() {
            h = block(h)
            trace?("up_blocks.\(i)", h)
        }
        return convOut(convNormOut(h, silu: true))
    }
}
