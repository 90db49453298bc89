import Tensors

/// diffusers' `EncoderTiny` (`encoder.layers.*`, one `nn.Sequential`): per block a 3x3 convolution (the first from
/// the image's channels, the others stride 2 without bias) then its `AutoencoderTinyBlock`s, then a 3x3 convolution
/// to the latent channels. The input is the image in [-1, 1], taken to [0, 1] first.
struct EncoderTiny: Sendable {
    enum Layer: Sendable {
        case conv(Conv2DLayer)
        case block(AutoencoderTinyBlock)
    }
    let layers: [Layer]

    init(_ weights: WeightLoader, config c: AutoencoderTinyConfig) throws {
        var layers: [Layer] = []
        func next() -> WeightLoader { weights.scoped("layers").scoped(layers.count) }
        for (i, count) in c.numEncoderBlocks.enumerated() {
            let channels = c.encoderBlockOutChannels[i]
            layers.append(.conv(i == 0
                ? try Conv2DLayer(next(), inChannels: c.inChannels, outChannels: channels, kernel: 3, padding: 1)
                : try Conv2DLayer(next(), inChannels: channels, outChannels: channels, kernel: 3, stride: 2,
                                  padding: 1, bias: false)))
            for _ in 0..<count { layers.append(.block(try AutoencoderTinyBlock(next(), inChannels: channels, outChannels: channels))) }
        }
        layers.append(.conv(try Conv2DLayer(next(), inChannels: c.encoderBlockOutChannels.last!, outChannels: c.latentChannels, kernel: 3, padding: 1)))
        self.layers = layers
    }

    func callAsFunction(_ image: Tensor) -> Tensor {
        layers.reduce((image + 1) / 2) { x, layer in
            switch layer {
            case .conv(let conv): return conv(x)
            case .block(let block): return block(x)
            }
        }
    }
}
