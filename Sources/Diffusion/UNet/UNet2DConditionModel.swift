import Foundation
import Tensors

/// diffusers' `UNet2DConditionModel` (the Stable Diffusion 1.x / 2.x denoiser), fp32, from a diffusers `unet/`
/// folder:
///
///     t_emb = time_embedding(time_proj(t));  temb = silu(t_emb) for every resnet
///     h = conv_in(sample)                                     (center_input_sample: 2 * sample - 1 first)
///     down blocks (each hands its resnets' and downsampler's outputs to the up blocks)
///     mid block
///     up blocks (each consumes its skips, last first; upsampling to the skips' size when the latent size is
///                not a multiple of 2^(blocks - 1))
///     out = conv_out(silu(conv_norm_out(h)))
///
/// Keys: `time_embedding.linear_1/2`, `conv_in`, `down_blocks.i.*`, `mid_block.*`, `up_blocks.i.*`,
/// `conv_norm_out`, `conv_out`. Every checkpoint key must be used and every expected key present with its
/// exact shape, or loading fails with a `ModelLoadError` naming the key and the file.
public struct UNet2DConditionModel: Sendable {
    public let config: UNet2DConditionModelConfig
    let timeProj: Timesteps
    let timeEmbedding: TimestepEmbedding
    let convIn: Conv2DLayer
    let downBlocks: [DownBlock2D]
    let midBlock: UNetMidBlock2DCrossAttn?
    let upBlocks: [UpBlock2D]
    let convNormOut: GroupNormLayer
    let convOut: Conv2DLayer

    /// From a UNet folder (`config.json` + `diffusion_pytorch_model[.fp16].safetensors` or shards).
    public init(folder: URL, prefer variant: WeightVariant = .full) throws {
        try self.init(component: try ComponentFolder(url: folder), prefer: variant)
    }

    /// From a pipeline folder's `unet` component.
    public init(modelFolder: ModelFolder, prefer variant: WeightVariant = .full) throws {
        try self.init(component: try modelFolder.component("unet"), prefer: variant)
    }

    public init(component: ComponentFolder, prefer variant: WeightVariant = .full) throws {
        let config = try UNet2DConditionModelConfig(component.config())
        try self.init(config: config, weights: try component.weights(prefer: variant))
    }

    /// From a parsed config and the weights' root scope. Weight errors come as `ModelLoadError`.
    public init(config: UNet2DConditionModelConfig, weights: WeightLoader) throws {
        self.config = config
        let c0 = config.blockOutChannels[0]
        timeProj = Timesteps(channels: c0, flipSinToCos: config.flipSinToCos, downscaleFreqShift: Float(config.freqShift))
        (timeEmbedding, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut) = try ModelLoadError.converting {
            let timeEmbedding = try TimestepEmbedding(weights.scoped("time_embedding"), inChannels: c0,
                                                      timeEmbeddingDim: config.timeEmbeddingDim)
            let convIn = try Conv2DLayer(weights.scoped("conv_in"), inChannels: config.inChannels, outChannels: c0,
                                         kernel: config.convInKernel, padding: (config.convInKernel - 1) / 2)
            var downBlocks: [DownBlock2D] = []
            var channels = c0
            for i in config.blockOutChannels.indices {
                downBlocks.append(try DownBlock2D(weights.scoped("down_blocks").scoped(i), config: config, index: i, inChannels: channels))
                channels = config.blockOutChannels[i]
            }
            let midBlock = config.midBlockType == nil ? nil : try UNetMidBlock2DCrossAttn(weights.scoped("mid_block"), config: config)
            var upBlocks: [UpBlock2D] = []
            for i in config.blockOutChannels.indices {
                let block = try UpBlock2D(weights.scoped("up_blocks").scoped(i), config: config, index: i, previousChannels: channels)
                upBlocks.append(block)
                channels = block.outChannels
            }
            let convNormOut = try GroupNormLayer(weights.scoped("conv_norm_out"), channels: c0, groups: config.normNumGroups,
                                                 eps: config.normEps)
            let convOut = try Conv2DLayer(weights.scoped("conv_out"), inChannels: c0, outChannels: config.outChannels,
                                          kernel: config.convOutKernel, padding: (config.convOutKernel - 1) / 2)
            try weights.checkAllUsed()
            return (timeEmbedding, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut)
        }
    }

    /// The predicted noise (or v, per the scheduler's prediction type) for `sample` (B, in_channels, h, w) at
    /// `timestep` (the same for the whole batch) given `encoderHiddenStates` (B, S, cross_attention_dim).
    public func callAsFunction(_ sample: Tensor, timestep: Float, encoderHiddenStates: Tensor) -> Tensor {
        forward(sample, timesteps: [Float](repeating: timestep, count: sample.shape[0]),
                encoderHiddenStates: encoderHiddenStates).output
    }

    /// The UNet output and, with `tapBatchIndex`, the feature taps of that batch element (see
    /// `UNetFeatureTaps`). `timesteps` has one entry per batch element, or one for all. `trace` receives
    /// named intermediates (`time_embedding`, `conv_in`, `down_blocks.i`, `mid_block`, `up_blocks.i`), for tests.
    public func forward(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor, tapBatchIndex: Int? = nil,
                        trace: ((String, Tensor) -> Void)? = nil) -> (output: Tensor, taps: UNetFeatureTaps?) {
        let result = forward(sample, timesteps: timesteps, encoderHiddenStates: encoderHiddenStates, tapBatchIndex: tapBatchIndex,
                             deepCache: .off, trace: trace)
        return (result.output, result.taps)
    }

    /// What a call does with DeepCache's deep feature (Ma et al., "DeepCache"): the input of the last up block,
    /// which the deeper blocks compute and changes slowly from one denoising step to the next.
    public enum DeepCacheCall {
        /// A plain call.
        case off
        /// A full call that also returns the deep feature.
        case keep
        /// A shallow call: conv_in, the first down block's resnets (and attentions), the last up block on `deep` (from
        /// an earlier `keep` call with the same batch) and conv_out. No taps.
        case reuse(Tensor)
    }

    /// Whether the model has blocks below its first level for DeepCache to skip.
    public var supportsDeepCache: Bool { upBlocks.count >= 2 && downBlocks.count == upBlocks.count }

    /// `forward` with DeepCache: `deep` is the last up block's input of a `.keep` call.
    public func forward(_ sample: Tensor, timesteps: [Float], encoderHiddenStates: Tensor, tapBatchIndex: Int? = nil,
                        deepCache: DeepCacheCall, trace: ((String, Tensor) -> Void)? = nil) -> (output: Tensor, taps: UNetFeatureTaps?, deep: Tensor?) {
        precondition(sample.rank == 4 && sample.shape[1] == config.inChannels,
                     "UNet2DConditionModel: sample must be (B, \(config.inChannels), h, w), got \(sample.shape)")
        let batch = sample.shape[0]
        precondition(encoderHiddenStates.rank == 3 && encoderHiddenStates.shape[0] == batch
                     && encoderHiddenStates.shape[2] == config.crossAttentionDim[0],
                     "UNet2DConditionModel: encoder hidden states must be (\(batch), S, \(config.crossAttentionDim[0])), got \(encoderHiddenStates.shape)")
        precondition(timesteps.count == batch || timesteps.count == 1,
                     "UNet2DConditionModel: \(timesteps.count) timesteps for a batch of \(batch)")
        if let tapBatchIndex { precondition((0..<batch).contains(tapBatchIndex), "UNet2DConditionModel: tap index \(tapBatchIndex) outside the batch") }
        let perElement = timesteps.count == batch ? timesteps : [Float](repeating: timesteps[0], count: batch)

        let embedding = timeEmbedding(timeProj(perElement))
        trace?("time_embedding", embedding)
        let context = UNetBlockContext(activatedTimeEmbedding: embedding.silu(), encoderHiddenStates: encoderHiddenStates)
        var collector = tapBatchIndex.map { UNetTapCollector(batchIndex: $0) }
        let layout = UNetFeatureTaps.layout(for: config)
        var tapIndex = 0
        func tap(_ name: String, _ t: Tensor) {
            trace?(name, t)
            guard collector != nil else { return }
            precondition(layout[tapIndex].name == name, "UNet taps out of order: \(name) vs \(layout[tapIndex].name)")
            collector!.record(t, stride: layout[tapIndex].stride)
            tapIndex += 1
        }

        var h = config.centerInputSample ? sample * 2 - 1 : sample
        h = convIn(h)
        trace?("conv_in", h)
        if case .reuse(let deep) = deepCache {
            precondition(tapBatchIndex == nil && supportsDeepCache, "UNet2DConditionModel: a DeepCache call has no taps and needs two levels or more")
            precondition(deep.shape[0] == batch, "UNet2DConditionModel: the deep feature is of batch \(deep.shape[0]), the call of \(batch)")
            let last = upBlocks[upBlocks.count - 1]
            let (_, residuals) = downBlocks[0].shallow(h, context)
            let skips = [h] + residuals
            precondition(skips.count == last.resnetCount, "UNet2DConditionModel: the last up block reads \(last.resnetCount) skips, the first down block gives \(skips.count)")
            h = last(deep, skips: skips, upsampleSize: nil, context)
            return (convOut(convNormOut(h, silu: true)), nil, nil)
        }
        var skips: [Tensor] = [h]
        for (i, block) in downBlocks.enumerated() {
            let (out, residuals) = block(h, context)
            h = out
            skips += residuals
            tap("down_blocks.\(i)", h)
        }
        if let midBlock {
            h = midBlock(h, context)
            tap("mid_block", h)
        }
        // diffusers forwards the skips' sizes to the upsamplers when the sample size is not a multiple of
        // 2^(number of upsamplers).
        let upFactor = upBlocks.filter(\.hasUpsampler).count
        let forwardSize = sample.shape[2] % (1 << upFactor) != 0 || sample.shape[3] % (1 << upFactor) != 0
        var deep: Tensor?
        for (i, block) in upBlocks.enumerated() {
            if case .keep = deepCache, i == upBlocks.count - 1 { deep = h }
            let used = Array(skips.suffix(block.resnetCount))
            skips.removeLast(block.resnetCount)
            let size = forwardSize && block.hasUpsampler ? (skips.last!.shape[2], skips.last!.shape[3]) : nil
            h = block(h, skips: used, upsampleSize: size.map { (height: $0.0, width: $0.1) }, context)
            tap("up_blocks.\(i)", h)
        }
        h = convOut(convNormOut(h, silu: true))
        return (h, collector?.taps(timestep: perElement[tapBatchIndex ?? 0]), deep)
    }
}
