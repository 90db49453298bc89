import Tensors

/// A `torch.nn.LayerNorm` over the last dimension of the CLIP text encoder, with its `layer_norm_eps`.
/// Loaded from `<scope>.weight` and `<scope>.bias` (each of the normalised size).
struct CLIPLayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    init(_ weights: WeightLoader, size: Int, eps: Float) throws {
        weight = try weights.tensor("weight", shape: [size])
        bias = try weights.tensor("bias", shape: [size])
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.layerNorm(weight: weight, bias: bias, eps: eps) }
}
