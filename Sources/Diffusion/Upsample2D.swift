import Tensors

/// diffusers' `Upsample2D` with a convolution (`use_conv=True`): nearest-neighbour 2x, then a 3x3 conv with
/// padding 1, key `conv`.
struct Upsample2D: Sendable {
    let conv: Conv2DLayer

    init(_ weights: WeightLoader, channels: Int, outChannels: Int? = nil) throws {
        conv = try Conv2DLayer(weights.scoped("conv"), inChannels: channels, outChannels: outChannels ?? channels,
                               kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv(x.upsampledNearest2x()) }
}
