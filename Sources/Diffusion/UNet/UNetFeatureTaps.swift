import Tensors

/// The Detection-Adapter's input (docs/taps.md): the output of every down block (after its downsampler), of
/// the mid block and of every up block (after its upsampler) of ONE UNet call, for one batch element (the
/// conditional half of a classifier-free-guidance batch), grouped by stride relative to the latent and
/// concatenated along channels in forward order (down blocks, mid, up blocks).
///
/// For SD 2 (block_out_channels 320, 640, 1280, 1280) the groups are stride 1: 960, 2: 1600, 4: 1920 and
/// 8: 3840 channels.
public struct UNetFeatureTaps: Sendable {
    /// The UNet timestep of the call the taps were taken from.
    public var timestep: Float
    /// stride -> (1, channels, h, w), strides ascending.
    public var byStride: [Int: Tensor]
    /// The VAE encoder's `mid_block` output (1, C, h, w) for the same image, on the latent's grid (stride 1), when
    /// asked for: adapters with `vae_encoder_taps` append it to the stride-1 group (docs/adapter.md).
    public var vaeEncoderMidBlock: Tensor?

    public init(timestep: Float, byStride: [Int: Tensor], vaeEncoderMidBlock: Tensor? = nil) {
        self.timestep = timestep
        self.byStride = byStride
        self.vaeEncoderMidBlock = vaeEncoderMidBlock
    }

    public var strides: [Int] { byStride.keys.sorted() }

    /// Safetensors keys `stride<s>` -> tensor (tools/taps.py's names).
    public var namedTensors: [(String, Tensor)] {
        strides.map { ("stride\($0)", byStride[$0]!) } + (vaeEncoderMidBlock.map { [("vae_encoder.mid_block", $0)] } ?? [])
    }

    /// Channels per stride for a UNet config, without running it (the adapter's input widths).
    public static func channels(for config: UNet2DConditionModelConfig) -> [Int: Int] {
        var result: [Int: Int] = [:]
        for tap in layout(for: config) { result[tap.stride, default: 0] += tap.channels }
        return result
    }

    /// Every tapped block in forward order: its name (`down_blocks.0`, `mid_block`, `up_blocks.3`), stride
    /// and channels.
    public static func layout(for config: UNet2DConditionModelConfig) -> [(name: String, stride: Int, channels: Int)] {
        let n = config.blockOutChannels.count
        var out: [(String, Int, Int)] = []
        var level = 0
        for i in 0..<n {
            if i < n - 1 { level += 1 }
            out.append(("down_blocks.\(i)", 1 << level, config.blockOutChannels[i]))
        }
        if config.midBlockType != nil { out.append(("mid_block", 1 << level, config.blockOutChannels[n - 1])) }
        let reversed = Array(config.blockOutChannels.reversed())
        for j in 0..<n {
            if j < n - 1 { level -= 1 }
            out.append(("up_blocks.\(j)", 1 << level, reversed[j]))
        }
        return out
    }
}

/// Collects block outputs during a UNet call and groups them into `UNetFeatureTaps`.
struct UNetTapCollector {
    let batchIndex: Int
    private(set) var entries: [(stride: Int, tensor: Tensor)] = []

    init(batchIndex: Int) { self.batchIndex = batchIndex }

    mutating func record(_ output: Tensor, stride: Int) {
        entries.append((stride, output.narrowed(dim: 0, start: batchIndex, length: 1)))
    }

    func taps(timestep: Float) -> UNetFeatureTaps {
        var grouped: [Int: [Tensor]] = [:]
        for (stride, tensor) in entries { grouped[stride, default: []].append(tensor) }
        return UNetFeatureTaps(timestep: timestep, byStride: grouped.mapValues { Tensor.concat($0, dim: 1) })
    }
}
