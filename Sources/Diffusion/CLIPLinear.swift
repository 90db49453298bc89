import Tensors

/// A `torch.nn.Linear` of the CLIP text encoder: weight (out, in) as PyTorch stores it, and a bias (out).
/// Loaded from `<scope>.weight` and `<scope>.bias`, both required with exactly these shapes.
struct CLIPLinear: Sendable {
    let weight: Tensor
    let bias: Tensor

    init(_ weights: WeightLoader, inFeatures: Int, outFeatures: Int) throws {
        weight = try weights.tensor("weight", shape: [outFeatures, inFeatures])
        bias = try weights.tensor("bias", shape: [outFeatures])
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
}
