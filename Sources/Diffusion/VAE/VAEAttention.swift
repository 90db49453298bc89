import Tensors

/// diffusers' `Attention` as the VAE's mid block uses it: spatial self-attention over the H*W positions of a
/// feature map, with its own group norm and a residual connection (plain `AttnProcessor` semantics):
///
///     t = tokens(group_norm(x))                  (B, H*W, C)
///     a = to_out.0(attention(to_q(t), to_k(t), to_v(t), heads))
///     out = (NCHW(a) + x) / rescale_output_factor
///
/// Keys: `group_norm`, `to_q`, `to_k`, `to_v`, `to_out.0` (each with a bias). Checkpoints saved by old
/// diffusers versions name the projections `query`, `key`, `value`, `proj_attn`; diffusers renames them on
/// load, and so does this.
struct VAEAttention: Sendable {
    struct Projection: Sendable {
        let weight: Tensor
        let bias: Tensor

        init(_ weights: WeightLoader, channels: Int) throws {
            weight = try weights.tensor("weight", shape: [channels, channels])
            bias = try weights.tensor("bias", shape: [channels])
        }

        func callAsFunction(_ x: Tensor) -> Tensor { x.linear(weight: weight, bias: bias) }
    }

    let groupNorm: GroupNormLayer
    let toQ: Projection
    let toK: Projection
    let toV: Projection
    let toOut: Projection
    let heads: Int
    let rescaleOutputFactor: Float

    /// `headDim` is the Attention's `dim_head`; heads = channels / headDim (the VAE passes
    /// `attention_head_dim = channels`: one head).
    init(_ weights: WeightLoader, channels: Int, headDim: Int, groups: Int, eps: Float, rescaleOutputFactor: Float = 1) throws {
        precondition(headDim > 0 && channels % headDim == 0, "VAEAttention: \(channels) channels, head dim \(headDim)")
        groupNorm = try GroupNormLayer(weights.scoped("group_norm"), channels: channels, groups: groups, eps: eps)
        let deprecated = !weights.contains("to_q.weight") && weights.contains("query.weight")
        let names = deprecated ? ["query", "key", "value", "proj_attn"] : ["to_q", "to_k", "to_v", "to_out.0"]
        toQ = try Projection(weights.scoped(names[0]), channels: channels)
        toK = try Projection(weights.scoped(names[1]), channels: channels)
        toV = try Projection(weights.scoped(names[2]), channels: channels)
        toOut = try Projection(weights.scoped(names[3]), channels: channels)
        heads = channels / headDim
        self.rescaleOutputFactor = rescaleOutputFactor
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "VAEAttention: input must be (B, C, H, W), got \(x.shape)")
        let (height, width) = (x.shape[2], x.shape[3])
        let tokens = groupNorm(x).nchwToTokens()
        let attended = Tensor.multiHeadAttention(query: toQ(tokens), key: toK(tokens), value: toV(tokens), heads: heads)
        var out = toOut(attended).tokensToNCHW(height: height, width: width)
        out += x
        return rescaleOutputFactor == 1 ? out : out / rescaleOutputFactor
    }
}
