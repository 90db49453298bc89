import Tensors

/// What every UNet block needs besides its input: silu(time embedding) (B, temb) for the resnets and the
/// text embeddings (B, S, cross_attention_dim) for the transformers.
struct UNetBlockContext {
    let activatedTimeEmbedding: Tensor
    let encoderHiddenStates: Tensor
}

/// A down block of the UNet: its output and the hidden states it hands to the up blocks (one per resnet,
/// plus the downsampler's output).
protocol UNetDownBlock: Sendable {
    var hasDownsampler: Bool { get }
    var outChannels: Int { get }
    func callAsFunction(_ x: Tensor, _ context: UNetBlockContext) -> (output: Tensor, residuals: [Tensor])
}

/// An up block: consumes `resnetCount` skip connections (last first) and may upsample at the end.
protocol UNetUpBlock: Sendable {
    var hasUpsampler: Bool { get }
    var resnetCount: Int { get }
    var outChannels: Int { get }
    func callAsFunction(_ x: Tensor, skips: [Tensor], upsampleSize: (height: Int, width: Int)?,
                        _ context: UNetBlockContext) -> Tensor
}
