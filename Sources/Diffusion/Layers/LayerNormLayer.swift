import Tensors

/// `nn.LayerNorm(dim, eps, elementwise_affine=True)` over the last dimension; keys `weight`, `bias`.
struct LayerNormLayer: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ weights: WeightLoader, dim: Int, eps: Float) throws {
        weight = try weights.tensor("weight", shape: [dim])
        bias = try weights.tensor("bias", shape: [dim])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { KernelProfile.measure(.layerNorm) { x.layerNorm(weight: weight, bias: bias, eps: eps) } }
}
