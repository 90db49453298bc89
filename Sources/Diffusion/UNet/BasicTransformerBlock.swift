import Tensors

/// diffusers' `BasicTransformerBlock` as SD 1.x/2.x use it (`norm_type="layer_norm"`, eps 1e-5, GEGLU
/// feed-forward, no attention bias):
///
///     x = attn1(norm1(x)) + x                      self-attention
///     x = attn2(norm2(x), context) + x             cross-attention over the text embeddings
///     x = ff(norm3(x)) + x
///
/// Keys: `norm1`, `attn1`, `norm2`, `attn2`, `norm3`, `ff`.
struct BasicTransformerBlock: Sendable {
    let norm1: LayerNormLayer
    let attn1: Attention
    let norm2: LayerNormLayer
    let attn2: Attention
    let norm3: LayerNormLayer
    let ff: FeedForward

    init(_ weights: WeightLoader, dim: Int, heads: Int, headDim: Int, crossAttentionDim: Int) throws {
        norm1 = try LayerNormLayer(weights.scoped("norm1"), dim: dim, eps: 1e-5)
        attn1 = try Attention(weights.scoped("attn1"), queryDim: dim, contextDim: nil, heads: heads, headDim: headDim)
        norm2 = try LayerNormLayer(weights.scoped("norm2"), dim: dim, eps: 1e-5)
        attn2 = try Attention(weights.scoped("attn2"), queryDim: dim, contextDim: crossAttentionDim, heads: heads, headDim: headDim)
        norm3 = try LayerNormLayer(weights.scoped("norm3"), dim: dim, eps: 1e-5)
        ff = try FeedForward(weights.scoped("ff"), dim: dim)
    }

    /// x (B, T, dim), context (B, S, crossAttentionDim).
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = x
        h += attn1(norm1(h))
        h += attn2(norm2(h), context: context)
        h += ff(norm3(h))
        return h
    }
}
