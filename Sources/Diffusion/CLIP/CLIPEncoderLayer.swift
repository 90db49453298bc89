import Tensors

/// transformers' `CLIPEncoderLayer` (pre-norm):
///
///     h = x + self_attn(layer_norm1(x))
///     out = h + mlp(layer_norm2(h))
///
/// Keys: `self_attn.*`, `layer_norm1`, `mlp.*`, `layer_norm2`.
public struct CLIPEncoderLayer: Sendable {
    public let selfAttention: CLIPAttention
    let layerNorm1: LayerNormLayer
    public let mlp: CLIPMLP
    let layerNorm2: LayerNormLayer

    public init(_ weights: WeightLoader, config: CLIPTextConfig) throws {
        selfAttention = try CLIPAttention(weights.scoped("self_attn"), config: config)
        layerNorm1 = try LayerNormLayer(weights.scoped("layer_norm1"), dim: config.hiddenSize, eps: config.layerNormEps)
        mlp = try CLIPMLP(weights.scoped("mlp"), config: config)
        layerNorm2 = try LayerNormLayer(weights.scoped("layer_norm2"), dim: config.hiddenSize, eps: config.layerNormEps)
    }

    /// (batch, tokens, hidden) -> (batch, tokens, hidden).
    public func callAsFunction(_ x: Tensor, causal: Bool = true) -> Tensor {
        var h = x
        h += selfAttention(layerNorm1(x), causal: causal)
        var out = h
        out += mlp(layerNorm2(h))
        return out
    }
}
