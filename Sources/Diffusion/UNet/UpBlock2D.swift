import Tensors

/// diffusers' `UpBlock2D` and `CrossAttnUpBlock2D` in one type (`attentions` empty for the former): each of
/// the `layers_per_block + 1` resnets takes cat([h, skip], dim=1) with the skips consumed last first, a
/// Transformer2DModel follows each resnet in the cross-attention form, and all but the last block end in an
/// Upsample2D (`upsamplers.0.conv`). Resnet j's input channels: (j == 0 ? previous block's out : out) plus the
/// skip's channels (the block's `in_channels`, i.e. the next-shallower level's, for the last resnet).
struct UpBlock2D: UNetUpBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]
    let upsampler: Upsample2D?
    let outChannels: Int

    var hasUpsampler: Bool { upsampler != nil }
    var resnetCount: Int { resnets.count }

    /// `i` counts up blocks from the deepest; `previousChannels` is the previous up block's (or mid block's) output.
    init(_ weights: WeightLoader, config: UNet2DConditionModelConfig, index i: Int, previousChannels: Int) throws {
        let reversedChannels = Array(config.blockOutChannels.reversed())
        let n = reversedChannels.count
        let out = reversedChannels[i]
        let blockIn = reversedChannels[Swift.min(i + 1, n - 1)]
        let layers = Array(config.layersPerBlock.reversed())[i] + 1
        let heads = Array(config.attentionHeads.reversed())[i]
        let transformerLayers = Array(config.transformerLayersPerBlock.reversed())[i]
        let crossDim = Array(config.crossAttentionDim.reversed())[i]
        let crossAttention = config.upBlockTypes[i] == "CrossAttnUpBlock2D"
        var resnets: [ResnetBlock2D] = [], attentions: [Transformer2DModel] = []
        for j in 0..<layers {
            let skipChannels = j == layers - 1 ? blockIn : out
            let resnetIn = j == 0 ? previousChannels : out
            resnets.append(try ResnetBlock2D(weights.scoped("resnets").scoped(j), inChannels: resnetIn + skipChannels,
                                             outChannels: out, groups: config.normNumGroups, eps: config.normEps,
                                             outputScaleFactor: config.resnetOutScaleFactor,
                                             timeEmbeddingChannels: config.timeEmbeddingDim))
            if crossAttention {
                attentions.append(try Transformer2DModel(weights.scoped("attentions").scoped(j), channels: out, heads: heads,
                                                         layers: transformerLayers, crossAttentionDim: crossDim,
                                                         groups: config.normNumGroups,
                                                         useLinearProjection: config.useLinearProjection))
            }
        }
        self.resnets = resnets
        self.attentions = attentions
        upsampler = i == n - 1 ? nil : try Upsample2D(weights.scoped("upsamplers").scoped(0), channels: out)
        outChannels = out
    }

    func callAsFunction(_ x: Tensor, skips: [Tensor], upsampleSize: (height: Int, width: Int)?,
                        _ context: UNetBlockContext) -> Tensor {
        precondition(skips.count == resnets.count, "UpBlock2D: \(skips.count) skip connections for \(resnets.count) resnets")
        var h = x
        for (j, resnet) in resnets.enumerated() {
            h = Tensor.concat([h, skips[skips.count - 1 - j]], dim: 1)
            h = resnet(h, activatedTimeEmbedding: context.activatedTimeEmbedding)
            if !attentions.isEmpty { h = attentions[j](h, context: context.encoderHiddenStates) }
        }
        if let upsampler { h = upsampler(h, size: upsampleSize) }
        return h
    }
}
