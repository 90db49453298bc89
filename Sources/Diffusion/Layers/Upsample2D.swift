import Tensors

/// diffusers' `Upsample2D` with a convolution (`use_conv=True`): nearest-neighbour 2x, then a 3x3 conv with
/// padding 1, key `conv`.
struct Upsample2D: Sendable {
    let conv: Conv2DLayer

    init(_ weights: WeightLoader, channels: Int, outChannels: Int? = nil) throws {
        conv = try Conv2DLayer(weights.scoped("conv"), inChannels: channels, outChannels: outChannels ?? channels,
                               kernel: 3, padding: 1)
    }

    /// Upsampled by 2, or to `size` (height, width) when the UNet forwards the skip connection's size.
    func callAsFunction(_ x: Tensor, size: (height: Int, width: Int)? = nil) -> Tensor {
        guard let size else { return conv(x.upsampledNearest2x()) }
        return conv(x.upsampledNearest(height: size.height, width: size.width))
    }
}
