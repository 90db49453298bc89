/// Multiply-add work of one UNet call, counted as 2 FLOPs per multiply-add of the matrix products (convolutions
/// as direct convolutions, linear layers, attention's QK^T and PV); norms and elementwise work are left out.
/// Used for GFLOP/s in `dataengine bench unet` and for cost estimates.
public struct UNetCost: Sendable, Equatable {
    public var convolutionFLOPs: Double = 0
    public var linearFLOPs: Double = 0
    public var attentionFLOPs: Double = 0
    public var totalFLOPs: Double { convolutionFLOPs + linearFLOPs + attentionFLOPs }

    /// The cost of `config` on latents (batch, in_channels, height, width) with `contextLength` text tokens.
    public init(config: UNet2DConditionModelConfig, batch: Int, height: Int, width: Int, contextLength: Int = 77) {
        let b = Double(batch), s = Double(contextLength)
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ h: Int, _ w: Int) {
            convolutionFLOPs += 2 * Double(cin * cout * k * k) * Double(h * w) * b
        }
        func linear(_ cin: Int, _ cout: Int, rows: Double) { linearFLOPs += 2 * Double(cin * cout) * rows }
        let tembRows = b
        func resnet(_ cin: Int, _ cout: Int, _ h: Int, _ w: Int) {
            conv(cin, cout, 3, h, w)
            conv(cout, cout, 3, h, w)
            if cin != cout { conv(cin, cout, 1, h, w) }
            linear(config.timeEmbeddingDim, cout, rows: tembRows)
        }
        func transformer(_ c: Int, _ layers: Int, _ cross: Int, _ h: Int, _ w: Int) {
            let t = Double(h * w) * b
            linear(c, c, rows: t)                          // proj_in
            for _ in 0..<layers {
                linear(c, 3 * c, rows: t)                  // attn1 q, k, v
                attentionFLOPs += 2 * 2 * Double(h * w) * Double(h * w) * Double(c) * b
                linear(c, c, rows: t)                      // attn1 out
                linear(c, c, rows: t)                      // attn2 q
                linear(cross, 2 * c, rows: s * b)          // attn2 k, v
                attentionFLOPs += 2 * 2 * Double(h * w) * s * Double(c) * b
                linear(c, c, rows: t)                      // attn2 out
                linear(c, 8 * c, rows: t)                  // GEGLU proj
                linear(4 * c, c, rows: t)                  // ff out
            }
            linear(c, c, rows: t)                          // proj_out
        }
        let n = config.blockOutChannels.count
        var sizes = [(height, width)]
        for _ in 1..<n { let last = sizes.last!; sizes.append(((last.0 + 1) / 2, (last.1 + 1) / 2)) }
        let c0 = config.blockOutChannels[0]
        linear(c0, config.timeEmbeddingDim, rows: b)
        linear(config.timeEmbeddingDim, config.timeEmbeddingDim, rows: b)
        conv(config.inChannels, c0, config.convInKernel, height, width)
        var skips = [c0]
        var channels = c0
        for i in 0..<n {
            let out = config.blockOutChannels[i], (h, w) = sizes[i]
            for j in 0..<config.layersPerBlock[i] {
                resnet(j == 0 ? channels : out, out, h, w)
                if config.downBlockTypes[i] == "CrossAttnDownBlock2D" {
                    transformer(out, config.transformerLayersPerBlock[i], config.crossAttentionDim[i], h, w)
                }
                skips.append(out)
            }
            if i < n - 1 { conv(out, out, 3, sizes[i + 1].0, sizes[i + 1].1); skips.append(out) }
            channels = out
        }
        if config.midBlockType != nil {
            let (h, w) = sizes[n - 1]
            resnet(channels, channels, h, w)
            transformer(channels, config.transformerLayersPerBlock[n - 1], config.crossAttentionDim[n - 1], h, w)
            resnet(channels, channels, h, w)
        }
        for i in 0..<n {
            let level = n - 1 - i, out = config.blockOutChannels[level], (h, w) = sizes[level]
            for j in 0..<(config.layersPerBlock[level] + 1) {
                resnet((j == 0 ? channels : out) + skips.removeLast(), out, h, w)
                if config.upBlockTypes[i] == "CrossAttnUpBlock2D" {
                    transformer(out, config.transformerLayersPerBlock[level], config.crossAttentionDim[level], h, w)
                }
            }
            if i < n - 1 { conv(out, out, 3, sizes[level - 1].0, sizes[level - 1].1) }
            channels = out
        }
        conv(c0, config.outChannels, config.convOutKernel, height, width)
    }
}
