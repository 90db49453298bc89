import Tensors

/// diffusers' `ResnetBlock2D` with `time_embedding_norm="default"`:
///
///     h = conv1(silu(norm1(x)))
///     h = h + time_emb_proj(silu(temb))[:, :, None, None]          (UNet only; the VAE has no temb)
///     h = conv2(silu(norm2(h)))                                    (dropout is identity at inference)
///     out = (shortcut(x) + h) / output_scale_factor
///
/// `shortcut` is the 1x1 `conv_shortcut` when the channel count changes, else the identity. Keys:
/// `norm1`, `conv1`, `time_emb_proj`, `norm2`, `conv2`, `conv_shortcut` under the block's scope. The caller
/// passes `silu(temb)` (the same for every resnet of a UNet call, so it is computed once).
struct ResnetBlock2D: Sendable {
    let norm1: GroupNormLayer
    let conv1: Conv2DLayer
    let norm2: GroupNormLayer
    let conv2: Conv2DLayer
    let convShortcut: Conv2DLayer?
    let timeEmbProj: LinearLayer?
    let outputScaleFactor: Float

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, groups: Int, eps: Float,
         outputScaleFactor: Float = 1, timeEmbeddingChannels: Int? = nil) throws {
        norm1 = try GroupNormLayer(weights.scoped("norm1"), channels: inChannels, groups: groups, eps: eps)
        conv1 = try Conv2DLayer(weights.scoped("conv1"), inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: 1)
        timeEmbProj = try timeEmbeddingChannels.map {
            try LinearLayer(weights.scoped("time_emb_proj"), inFeatures: $0, outFeatures: outChannels)
        }
        norm2 = try GroupNormLayer(weights.scoped("norm2"), channels: outChannels, groups: groups, eps: eps)
        conv2 = try Conv2DLayer(weights.scoped("conv2"), inChannels: outChannels, outChannels: outChannels, kernel: 3, padding: 1)
        convShortcut = inChannels == outChannels ? nil
            : try Conv2DLayer(weights.scoped("conv_shortcut"), inChannels: inChannels, outChannels: outChannels, kernel: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    /// `activatedTimeEmbedding` is silu(temb), (B, temb_channels); required exactly when the block has a
    /// `time_emb_proj`.
    func callAsFunction(_ x: Tensor, activatedTimeEmbedding: Tensor? = nil) -> Tensor {
        precondition((timeEmbProj == nil) == (activatedTimeEmbedding == nil),
                     "ResnetBlock2D: a time embedding must be given exactly when the block has time_emb_proj")
        var h = conv1(norm1(x, silu: true))
        if let timeEmbProj, let temb = activatedTimeEmbedding {
            let projected = timeEmbProj(temb)                          // (B, C)
            h += projected.reshaped([projected.shape[0], projected.shape[1], 1, 1])
        }
        h = conv2(norm2(h, silu: true))
        h += convShortcut.map { $0(x) } ?? x
        return outputScaleFactor == 1 ? h : h / outputScaleFactor
    }
}
