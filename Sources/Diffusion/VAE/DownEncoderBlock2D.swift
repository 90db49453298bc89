import Tensors

/// diffusers' `DownEncoderBlock2D`: `layers` resnets (`resnets.i`; the first changes the channel count), then,
/// except in the last block of the encoder, a `Downsample2D` (`downsamplers.0`, padding 0: the asymmetric pad).
struct DownEncoderBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let downsampler: Downsample2D?

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float,
         addDownsample: Bool, downsamplePadding: Int = 0) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock2D(weights.scoped("resnets").scoped(i), inChannels: i == 0 ? inChannels : outChannels,
                              outChannels: outChannels, groups: groups, eps: eps)
        }
        downsampler = addDownsample
            ? try Downsample2D(weights.scoped("downsamplers").scoped(0), channels: outChannels, padding: downsamplePadding)
            : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for resnet in resnets { h = resnet(h) }
        if let downsampler { h = downsampler(h) }
        return h
    }
}
