import Tensors

/// diffusers' `DownBlock2D` (resnets only) and `CrossAttnDownBlock2D` (a Transformer2DModel after each resnet)
/// in one type: `attentions` is empty for the former. Keys: `resnets.i`, `attentions.i`, `downsamplers.0.conv`
/// (a stride-2 3x3 conv with `downsample_padding`, on all but the last block).
struct DownBlock2D: UNetDownBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let downsampler: Downsample2D?
    let outChannels: Int

    var hasDownsampler: Bool { downsampler != nil }

    init(_ weights: WeightLoader, config: UNet2DConditionModelConfig, index i: Int, inChannels: Int) throws {
        let out = config.blockOutChannels[i]
        let crossAttention = config.downBlockTypes[i] == "CrossAttnDownBlock2D"
        var resnets: [ResnetBlock2D] = [], attentions: [Transformer2DModel] = []
        for j in 0..<config.layersPerBlock[i] {
            resnets.append(try ResnetBlock2D(weights.scoped("resnets").scoped(j), inChannels: j == 0 ? inChannels : out,
                                             outChannels: out, groups: config.normNumGroups, eps: config.normEps,
                                             outputScaleFactor: config.resnetOutScaleFactor,
                                             timeEmbeddingChannels: config.timeEmbeddingDim))
            if crossAttention {
                attentions.append(try Transformer2DModel(weights.scoped("attentions").scoped(j), channels: out,
                                                         heads: config.attentionHeads[i],
                                                         layers: config.transformerLayersPerBlock[i],
                                                         crossAttentionDim: config.crossAttentionDim[i],
                                                         groups: config.normNumGroups,
                                                         useLinearProjection: config.useLinearProjection))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
        let isFinal = i == config.blockOutChannels.count - 1
        downsampler = isFinal ? nil
            : try Downsample2D(weights.scoped("downsamplers").scoped(0), channels: out, padding: config.downsamplePadding)
        outChannels = out
    }

    func callAsFunction(_ x: Tensor, _ context: UNetBlockContext) -> (output: Tensor, residuals: [Tensor]) {
        var (h, residuals) = shallow(x, context)
        if let downsampler {
            h = downsampler(h)
            residuals.append(h)
        }
        return (h, residuals)
    }

    /// The resnets (and attentions) without the downsampler: what the last up block reads from this block.
    func shallow(_ x: Tensor, _ context: UNetBlockContext) -> (output: Tensor, residuals: [Tensor]) {
        var h = x
        var residuals: [Tensor] = []
        for (j, resnet) in resnets.enumerated() {
            h = resnet(h, activatedTimeEmbedding: context.activatedTimeEmbedding)
            if !attentions.isEmpty { h = attentions[j](h, context: context.encoderHiddenStates) }
            residuals.append(h)
        }
        return (h, residuals)
    }
}
