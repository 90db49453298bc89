import Tensors

/// diffusers' `Transformer2DModel` for continuous (feature-map) input, as the SD UNet blocks use it:
///
///     h = norm(x)                                   GroupNorm(groups, eps 1e-6)
///     h = proj_in(h) -> tokens                      1x1 conv then flatten (use_linear_projection false, SD 1.x)
///       | tokens -> proj_in(h)                      flatten then Linear (use_linear_projection true, SD 2.x)
///     h = transformer_blocks.k(h, context)          for k in 0 ..< layers
///     out = proj_out(h) back to (B, C, H, W) + x    (the reverse of proj_in)
///
/// Keys: `norm`, `proj_in`, `transformer_blocks.k`, `proj_out`; proj_in/proj_out weights are (inner, C, 1, 1)
/// for the conv form and (inner, C) for the linear one.
struct Transformer2DModel: Sendable {
    enum Projection: Sendable {
        case conv(Conv2DLayer)
        case linear(LinearLayer)
    }

    let norm: GroupNormLayer
    let projIn: Projection
    let blocks: [BasicTransformerBlock]
    let projOut: Projection

    init(_ weights: WeightLoader, channels: Int, heads: Int, layers: Int, crossAttentionDim: Int, groups: Int,
         useLinearProjection: Bool) throws {
        let headDim = channels / heads
        let inner = heads * headDim
        norm = try GroupNormLayer(weights.scoped("norm"), channels: channels, groups: groups, eps: 1e-6)
        func projection(_ name: String, from: Int, to: Int) throws -> Projection {
            useLinearProjection
                ? .linear(try LinearLayer(weights.scoped(name), inFeatures: from, outFeatures: to))
                : .conv(try Conv2DLayer(weights.scoped(name), inChannels: from, outChannels: to, kernel: 1))
        }
        projIn = try projection("proj_in", from: channels, to: inner)
        blocks = try (0..<layers).map {
            try BasicTransformerBlock(weights.scoped("transformer_blocks").scoped($0), dim: inner, heads: heads,
                                      headDim: headDim, crossAttentionDim: crossAttentionDim)
        }
        projOut = try projection("proj_out", from: inner, to: channels)
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let (height, width) = (x.shape[2], x.shape[3])
        let normed = norm(x)
        var tokens: Tensor
        switch projIn {
        case .conv(let conv): tokens = conv(normed).nchwToTokens()
        case .linear(let linear): tokens = linear(normed.nchwToTokens())
        }
        for block in blocks { tokens = block(tokens, context: context) }
        var out: Tensor
        switch projOut {
        case .conv(let conv): out = conv(tokens.tokensToNCHW(height: height, width: width))
        case .linear(let linear): out = linear(tokens).tokensToNCHW(height: height, width: width)
        }
        out += x
        return out
    }
}
