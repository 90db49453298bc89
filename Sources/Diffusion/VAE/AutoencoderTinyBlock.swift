import Tensors

/// diffusers' `AutoencoderTinyBlock`: relu(conv(relu(conv(relu(conv(x))))) + skip(x)), 3x3 convolutions; `skip` is
/// a 1x1 convolution without bias when the channel count changes, else the identity. Keys `conv.0`, `conv.2`,
/// `conv.4`, `skip`.
struct AutoencoderTinyBlock: Sendable {
    let convs: [Conv2DLayer]
    let skip: Conv2DLayer?

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int) throws {
        convs = try [0, 2, 4].map { k in
            try Conv2DLayer(weights.scoped("conv").scoped(k), inChannels: k == 0 ? inChannels : outChannels, outChannels: outChannels,
                            kernel: 3, padding: 1)
        }
        skip = inChannels == outChannels ? nil
            : try Conv2DLayer(weights.scoped("skip"), inChannels: inChannels, outChannels: outChannels, kernel: 1, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = convs[2](convs[1](convs[0](x).relu()).relu())
        return (h + (skip.map { $0(x) } ?? x)).relu()
    }
}
