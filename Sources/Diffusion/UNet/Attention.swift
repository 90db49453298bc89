import Tensors

/// diffusers' `Attention` as the UNet's transformer blocks use it (no bias on the q/k/v projections,
/// `out_bias=True`, plain scaled-dot-product attention with scale dim_head^-0.5):
///
///     out = to_out.0(attention(to_q(x), to_k(context), to_v(context), heads))
///
/// Self-attention (`attn1`) when `context` is nil, cross-attention (`attn2`) over the text embeddings
/// otherwise. Keys: `to_q`, `to_k`, `to_v`, `to_out.0`.
struct Attention: Sendable {
    let toQ: LinearLayer
    let toK: LinearLayer
    let toV: LinearLayer
    let toOut: LinearLayer
    let heads: Int

    init(_ weights: WeightLoader, queryDim: Int, contextDim: Int?, heads: Int, headDim: Int) throws {
        let inner = heads * headDim
        toQ = try LinearLayer(weights.scoped("to_q"), inFeatures: queryDim, outFeatures: inner, bias: false)
        toK = try LinearLayer(weights.scoped("to_k"), inFeatures: contextDim ?? queryDim, outFeatures: inner, bias: false)
        toV = try LinearLayer(weights.scoped("to_v"), inFeatures: contextDim ?? queryDim, outFeatures: inner, bias: false)
        toOut = try LinearLayer(weights.scoped("to_out").scoped(0), inFeatures: inner, outFeatures: queryDim)
        self.heads = heads
    }

    /// x (B, T, queryDim); context (B, S, contextDim) or nil for self-attention.
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let source = context ?? x
        let (q, k, v) = (toQ(x), toK(source), toV(source))
        let attended = KernelProfile.measure(.attention) { Tensor.multiHeadAttention(query: q, key: k, value: v, heads: heads) }
        return toOut(attended)
    }
}
