import Tensors

/// `nn.Linear` with its weights from a checkpoint scope: `<scope>.weight` (out, in) and, when `bias`,
/// `<scope>.bias` (out). Applies to the last dimension of any input (..., in) -> (..., out).
struct LinearLayer: Sendable {
    let weight: Tensor
    let bias: Tensor?

    var outFeatures: Int { weight.shape[0] }

    init(_ weights: WeightLoader, inFeatures: Int, outFeatures: Int, bias: Bool = true) throws {
        weight = try weights.tensor("weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? try weights.tensor("bias", shape: [outFeatures]) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor { KernelProfile.measure(.linear) { x.linear(weight: weight, bias: bias) } }
}
