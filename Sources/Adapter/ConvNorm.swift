import Tensors

/// A convolution without bias followed by GroupNorm (mmdetection's `ConvModule` with a GN norm), optionally
/// ReLU: `<scope>.conv.weight`, `<scope>.norm.weight`, `<scope>.norm.bias`.
struct ConvNorm: Sendable {
    let weight: Tensor
    let normWeight: Tensor
    let normBias: Tensor
    let stride: Int
    let groups: Int
    let relu: Bool

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, groups: Int, relu: Bool) throws {
        weight = try weights.scoped("conv").tensor("weight", shape: [outChannels, inChannels, kernel, kernel])
        normWeight = try weights.scoped("norm").tensor("weight", shape: [outChannels])
        normBias = try weights.scoped("norm").tensor("bias", shape: [outChannels])
        self.stride = stride
        self.groups = groups
        self.relu = relu
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let k = weight.shape[2]
        let y = x.conv2d(weight: weight, stride: stride, padding: k / 2).groupNorm(groups: groups, weight: normWeight, bias: normBias, eps: 1e-5)
        return relu ? y.relu() : y
    }
}
