import Tensors

/// diffusers' `ResnetBlock2D` without a time embedding (`temb_channels=None`, as in the VAE):
///
///     h = conv1(silu(norm1(x))); h = conv2(silu(norm2(h)))        (dropout is identity at inference)
///     out = (shortcut(x) + h) / output_scale_factor
///
/// `shortcut` is the 1x1 `conv_shortcut` when the channel count changes, else the identity. Keys:
/// `norm1`, `conv1`, `norm2`, `conv2`, `conv_shortcut` under the block's scope.
struct ResnetBlock2D: Sendable {
    let norm1: GroupNormLayer
    let conv1: Conv2DLayer
    let norm2: GroupNormLayer
    let conv2: Conv2DLayer
    let convShortcut: Conv2DLayer?
    let outputScaleFactor: Float

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, groups: Int, eps: Float,
         outputScaleFactor: Float = 1) throws {
        norm1 = try GroupNormLayer(weights.scoped("norm1"), channels: inChannels, groups: groups, eps: eps)
        conv1 = try Conv2DLayer(weights.scoped("conv1"), inChannels: inChannels, outChannels: outChannels, kernel: 3, padding: 1)
        norm2 = try GroupNormLayer(weights.scoped("norm2"), channels: outChannels, groups: groups, eps: eps)
        conv2 = try Conv2DLayer(weights.scoped("conv2"), inChannels: outChannels, outChannels: outChannels, kernel: 3, padding: 1)
        convShortcut = inChannels == outChannels ? nil
            : try Conv2DLayer(weights.scoped("conv_shortcut"), inChannels: inChannels, outChannels: outChannels, kernel: 1)
        self.outputScaleFactor = outputScaleFactor
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv1(norm1(x, silu: true))
        h = conv2(norm2(h, silu: true))
        h += convShortcut.map { $0(x) } ?? x
        return outputScaleFactor == 1 ? h : h / outputScaleFactor
    }
}
