import Tensors

/// diffusers' `Encoder` of the VAE (named VAEEncoder here: `Encoder` would shadow Swift's protocol).
/// Keys under `encoder.`:
///
///     conv_in                      3x3, in_channels -> block_out_channels[0]
///     down_blocks.i                DownEncoderBlock2D, block_out_channels[i-1] -> [i], downsampling except the last
///     mid_block                    UNetMidBlock2D at block_out_channels[-1] (attention unless mid_block_add_attention is false)
///     conv_norm_out, SiLU, conv_out  3x3 -> 2 * latent_channels (mean and logvar: double_z)
struct VAEEncoder: Sendable {
    let convIn: Conv2DLayer
    let downBlocks: [DownEncoderBlock2D]
    let midBlock: UNetMidBlock2D
    let convNormOut: GroupNormLayer
    let convOut: Conv2DLayer

    init(_ weights: WeightLoader, config c: AutoencoderKLConfig) throws {
        let channels = c.blockOutChannels, groups = c.normNumGroups, eps = c.normEps
        convIn = try Conv2DLayer(weights.scoped("conv_in"), inChannels: c.inChannels, outChannels: channels[0], kernel: 3, padding: 1)
        downBlocks = try channels.indices.map { i in
            try DownEncoderBlock2D(weights.scoped("down_blocks").scoped(i), inChannels: i == 0 ? channels[0] : channels[i - 1],
                                   outChannels: channels[i], layers: c.layersPerBlock, groups: groups, eps: eps,
                                   addDownsample: i != channels.count - 1, downsamplePadding: 0)
        }
        let last = channels[channels.count - 1]
        midBlock = try UNetMidBlock2D(weights.scoped("mid_block"), channels: last, groups: groups, eps: eps,
                                      attentionHeadDim: last, addAttention: c.midBlockAddAttention)
        convNormOut = try GroupNormLayer(weights.scoped("conv_norm_out"), channels: last, groups: groups, eps: eps)
        convOut = try Conv2DLayer(weights.scoped("conv_out"), inChannels: last, outChannels: 2 * c.latentChannels, kernel: 3, padding: 1)
    }

    /// Image (B, in_channels, H, W) -> moments (B, 2 * latent_channels, H / f, W / f). `trace` receives the
    /// outputs of `down_blocks.i`, `mid_block` and `out` (for parity checks).
    func callAsFunction(_ x: Tensor, trace: ((String, Tensor) -> Void)? = nil) -> Tensor {
        var h = convIn(x)
        for (i, block) in downBlocks.enumerated() {
            h = block(h)
            trace?("down_blocks.\(i)", h)
        }
        h = midBlock(h)
        trace?("mid_block", h)
        h = convOut(convNormOut(h, silu: true))
        trace?("out", h)
        return h
    }
}
