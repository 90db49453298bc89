import Tensors

/// `nn.GroupNorm(num_groups, num_channels, eps, affine=True)` with `<scope>.weight` and `<scope>.bias` (channels each).
package struct GroupNormLayer: Sendable {
    let groups: Int
    let eps: Float
    let weight: Tensor
    let bias: Tensor

    package init(_ weights: WeightLoader, channels: Int, groups: Int, eps: Float) throws {
        self.groups = groups
        self.eps = eps
        weight = try weights.tensor("weight", shape: [channels])
        bias = try weights.tensor("bias", shape: [channels])
    }

    /// The normalised input; with `silu` the SiLU that follows it is applied in the same pass.
    package func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        KernelProfile.measure(.groupNorm) { x.groupNorm(groups: groups, weight: weight, bias: bias, eps: eps, fusedSiLU: silu) }
    }
}
