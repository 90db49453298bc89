import Tensors

/// diffusers' `UNetMidBlock2D` as the VAE builds it (no time embedding): `resnets.0`, then for each further
/// resnet an attention (`attentions.i`, when `add_attention`) and `resnets.i+1`. All at `channels`.
struct UNetMidBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let attentions: [VAEAttention]

    init(_ weights: WeightLoader, channels: Int, groups: Int, eps: Float, attentionHeadDim: Int,
         addAttention: Bool, layers: Int = 1, outputScaleFactor: Float = 1) throws {
        var resnets = [try ResnetBlock2D(weights.scoped("resnets").scoped(0), inChannels: channels, outChannels: channels,
                                         groups: groups, eps: eps, outputScaleFactor: outputScaleFactor)]
        var attentions: [VAEAttention] = []
        for i in 0..<layers {
            if addAttention {
                attentions.append(try VAEAttention(weights.scoped("attentions").scoped(i), channels: channels,
                                                   headDim: attentionHeadDim, groups: groups, eps: eps,
                                                   rescaleOutputFactor: outputScaleFactor))
            }
            resnets.append(try ResnetBlock2D(weights.scoped("resnets").scoped(i + 1), inChannels: channels, outChannels: channels,
                                             groups: groups, eps: eps, outputScaleFactor: outputScaleFactor))
        }
        self.resnets = resnets
        self.attentions = attentions
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x)
        for i in 1..<resnets.count {
            if !attentions.isEmpty { h = attentions[i - 1](h) }
            h = resnets[i](h)
        }
        return h
    }
}
