import Diffusion
import Tensors

/// A convolution without bias followed by GroupNorm (mmdetection's `ConvModule` with a GN norm), optionally
/// ReLU: `<scope>.conv.weight`, `<scope>.norm.weight`, `<scope>.norm.bias`.
struct ConvNorm: Sendable {
    let conv: Conv2DLayer
    let norm: GroupNormLayer
    let relu: Bool

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, groups: Int, relu: Bool) throws {
        conv = try Conv2DLayer(weights.scoped("conv"), inChannels: inChannels, outChannels: outChannels, kernel: kernel,
                               stride: stride, padding: kernel / 2, bias: false)
        norm = try GroupNormLayer(weights.scoped("norm"), channels: outChannels, groups: groups, eps: 1e-5)
        self.relu = relu
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = norm(conv(x))
        return relu ? y.relu() : y
    }
}
