import Tensors

/// diffusers' `Downsample2D` with a convolution (`use_conv=True`): a 3x3 stride-2 conv, key `conv`.
/// With `padding: 0` (the VAE's encoder) the input is first zero-padded by one pixel on the right and bottom
/// only (`F.pad(x, (0, 1, 0, 1))`), so an odd size H gives (H + 1 - 3) / 2 + 1 rows; otherwise the conv pads
/// symmetrically.
struct Downsample2D: Sendable {
    let conv: Conv2DLayer

    init(_ weights: WeightLoader, channels: Int, outChannels: Int? = nil, padding: Int) throws {
        let pad = padding == 0 ? Padding2D(left: 0, right: 1, top: 0, bottom: 1) : Padding2D(padding)
        conv = try Conv2DLayer(weights.scoped("conv"), inChannels: channels, outChannels: outChannels ?? channels,
                               kernel: 3, stride: 2, padding: pad)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv(x) }
}
