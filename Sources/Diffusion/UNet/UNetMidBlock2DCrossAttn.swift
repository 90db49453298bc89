import Tensors

/// diffusers' `UNetMidBlock2DCrossAttn`: `resnets.0`, then for each layer a Transformer2DModel
/// (`attentions.i`) and `resnets.i+1`, all at the deepest block's channels. Keys under `mid_block`.
struct UNetMidBlock2DCrossAttn: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2DModel]

    init(_ weights: WeightLoader, config: UNet2DConditionModelConfig, layers: Int = 1) throws {
        let channels = config.blockOutChannels.last!
        func resnet(_ j: Int) throws -> ResnetBlock2D {
            try ResnetBlock2D(weights.scoped("resnets").scoped(j), inChannels: channels, outChannels: channels,
                              groups: config.normNumGroups, eps: config.normEps,
                              outputScaleFactor: config.midBlockScaleFactor, timeEmbeddingChannels: config.timeEmbeddingDim)
        }
        var resnets = [try resnet(0)]
        var attentions: [Transformer2DModel] = []
        for j in 0..<layers {
            attentions.append(try Transformer2DModel(weights.scoped("attentions").scoped(j), channels: channels,
                                                     heads: config.attentionHeads.last!,
                                                     layers: config.transformerLayersPerBlock.last!,
                                                     crossAttentionDim: config.crossAttentionDim.last!,
                                                     groups: config.normNumGroups,
                                                     useLinearProjection: config.useLinearProjection))
            resnets.append(try resnet(j + 1))
        }
        self.resnets = resnets
        self.attentions = attentions
    }

    func callAsFunction(_ x: Tensor, _ context: UNetBlockContext) -> Tensor {
        var h = resnets[0](x, activatedTimeEmbedding: context.activatedTimeEmbedding)
        for (j, attention) in attentions.enumerated() {
            h = attention(h, context: context.encoderHiddenStates)
            h = resnets[j + 1](h, activatedTimeEmbedding: context.activatedTimeEmbedding)
        }
        return h
    }
}
