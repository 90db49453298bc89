import Foundation
import Tensors

/// transformers' `CLIPAttention` as the text encoder uses it: multi-head self-attention with q/k/v/out
/// projections (each hidden_size -> hidden_size, with bias), scale head_dim^-0.5, and the causal mask
/// (token i attends to tokens 0...i).
///
/// Keys: `q_proj`, `k_proj`, `v_proj`, `out_proj` (`.weight`, `.bias`).
public struct CLIPAttention: Sendable {
    let qProj: LinearLayer
    let kProj: LinearLayer
    let vProj: LinearLayer
    let outProj: LinearLayer
    public let heads: Int
    public let scale: Float

    public init(_ weights: WeightLoader, config: CLIPTextConfig) throws {
        let h = config.hiddenSize
        qProj = try LinearLayer(weights.scoped("q_proj"), inFeatures: h, outFeatures: h)
        kProj = try LinearLayer(weights.scoped("k_proj"), inFeatures: h, outFeatures: h)
        vProj = try LinearLayer(weights.scoped("v_proj"), inFeatures: h, outFeatures: h)
        outProj = try LinearLayer(weights.scoped("out_proj"), inFeatures: h, outFeatures: h)
        heads = config.numAttentionHeads
        // PyTorch computes head_dim**-0.5 in Python doubles, then SDPA takes it as a float.
        scale = Float(pow(Double(config.headDim), -0.5))
    }

    /// (batch, tokens, hidden) -> (batch, tokens, hidden).
    public func callAsFunction(_ x: Tensor, causal: Bool = true) -> Tensor {
        let attended = Tensor.multiHeadAttention(query: qProj(x), key: kProj(x), value: vProj(x), heads: heads, scale: scale,
                                                 causal: causal)
        return outProj(attended)
    }
}
