import Tensors

/// `nn.Conv2d` with its weights from a checkpoint scope (`<scope>.weight` (out, in, k, k), `<scope>.bias` (out)).
/// The padding is symmetric (`nn.Conv2d(padding=p)`) or explicit (`F.pad` before a padding-0 conv).
package struct Conv2DLayer: Sendable {
    let weight: Tensor
    let bias: Tensor?
    let stride: Int
    let padding: Padding2D
    /// The weight's Winograd filters, kept across calls within the process's budget (3x3, stride 1).
    let winogradFilters = WinogradFilterCache()

    var outChannels: Int { weight.shape[0] }
    var inChannels: Int { weight.shape[1] }

    package init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
         padding: Padding2D, bias: Bool = true) throws {
        weight = try weights.tensor("weight", shape: [outChannels, inChannels, kernel, kernel])
        self.bias = bias ? try weights.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
    }

    package init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
         bias: Bool = true) throws {
        try self.init(weights, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                      padding: Padding2D(padding), bias: bias)
    }

    package func callAsFunction(_ x: Tensor) -> Tensor {
        let kind: KernelProfile.Kind = weight.shape[2] == 1 ? .conv1x1 : stride == 1 ? .conv3x3 : .conv3x3Stride2
        return KernelProfile.measure(kind) {
            x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, keeping: winogradFilters)
        }
    }
}
