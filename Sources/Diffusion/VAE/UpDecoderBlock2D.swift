import Tensors

/// diffusers' `UpDecoderBlock2D`: `layers` resnets (`resnets.i`; the first changes the channel count), then,
/// except in the last block of the decoder, an `Upsample2D` (`upsamplers.0`).
struct UpDecoderBlock2D: Sendable {
    let resnets: [ResnetBlock2D]
    let upsampler: Upsample2D?

    init(_ weights: WeightLoader, inChannels: Int, outChannels: Int, layers: Int, groups: Int, eps: Float,
         addUpsample: Bool) throws {
        resnets = try (0..<layers).map { i in
            try ResnetBlock2D(weights.scoped("resnets").scoped(i), inChannels: i == 0 ? inChannels : outChannels,
                              outChannels: outChannels, groups: groups, eps: eps)
        }
        upsampler = addUpsample ? try Upsample2D(weights.scoped("upsamplers").scoped(0), channels: outChannels) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for resnet in resnets { h = resnet(h) }
        if let upsampler { h = upsampler(h) }
        return h
    }
}
