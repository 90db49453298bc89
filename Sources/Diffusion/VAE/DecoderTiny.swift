import Tensors

/// diffusers' `DecoderTiny` (`decoder.layers.*`, one `nn.Sequential`): latents soft-clamped to (-3, 3) by
/// 3 tanh(x / 3), a 3x3 convolution and ReLU, then per block its `AutoencoderTinyBlock`s, a nearest 2x upsampling
/// (not after the last block) and a 3x3 convolution (to the block's channels without bias; the last one to the
/// image's channels with bias). The output is mapped from [0, 1] to [-1, 1].
struct DecoderTiny: Sendable {
    enum Layer: Sendable {
        case conv(Conv2DLayer)
        case relu
        case block(AutoencoderTinyBlock)
        case upsample
    }
    let layers: [Layer]

    init(_ weights: WeightLoader, config c: AutoencoderTinyConfig) throws {
        var layers: [Layer] = []
        func next() -> WeightLoader { weights.scoped("layers").scoped(layers.count) }
        let channels = c.decoderBlockOutChannels
        layers.append(.conv(try Conv2DLayer(next(), inChannels: c.latentChannels, outChannels: channels[0], kernel: 3, padding: 1)))
        layers.append(.relu)
        for (i, count) in c.numDecoderBlocks.enumerated() {
            let isLast = i == channels.count - 1
            for _ in 0..<count {
                layers.append(.block(try AutoencoderTinyBlock(next(), inChannels: channels[i], outChannels: channels[i])))
            }
            if !isLast { layers.append(.upsample) }
            layers.append(.conv(try Conv2DLayer(next(), inChannels: channels[i], outChannels: isLast ? c.outChannels : channels[i],
                                                kernel: 3, padding: 1, bias: isLast)))
        }
        self.layers = layers
    }

    func callAsFunction(_ latents: Tensor) -> Tensor {
        let out = layers.reduce((latents / 3).tanh() * 3) { x, layer in
            switch layer {
            case .conv(let conv): return conv(x)
            case .relu: return x.relu()
            case .block(let block): return block(x)
            case .upsample: return x.upsampledNearest2x()
            }
        }
        return out * 2 - 1
    }
}
