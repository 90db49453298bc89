import Tensors

/// `unet/config.json` of diffusers' `UNet2DConditionModel`, as Stable Diffusion 1.x / 2.x use it. Absent or
/// `null` fields take diffusers' constructor defaults. Settings this engine does not implement (class or
/// addition embeddings, other block types, ...) are a `ModelLoadError` naming the field and what is supported.
///
/// `attention_head_dim` is, for historical reasons, the number of attention HEADS in diffusers'
/// UNet2DConditionModel (SD 2's `[5, 10, 20, 20]` means 5 heads of 64 channels at 320 channels), and so it is
/// here: `attentionHeads[i]` is block i's head count.
public struct UNet2DConditionModelConfig: Sendable, Equatable {
    public static let supportedDownBlockTypes = ["CrossAttnDownBlock2D", "DownBlock2D"]
    public static let supportedUpBlockTypes = ["CrossAttnUpBlock2D", "UpBlock2D"]
    public static let supportedMidBlockTypes = ["UNetMidBlock2DCrossAttn"]

    public var inChannels: Int
    public var outChannels: Int
    public var sampleSize: Int?
    public var centerInputSample: Bool
    public var flipSinToCos: Bool
    public var freqShift: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    /// nil: no mid block (`mid_block_type: null`).
    public var midBlockType: String?
    public var blockOutChannels: [Int]
    public var layersPerBlock: [Int]
    public var downsamplePadding: Int
    public var midBlockScaleFactor: Float
    public var normNumGroups: Int
    public var normEps: Float
    public var crossAttentionDim: [Int]
    public var transformerLayersPerBlock: [Int]
    /// Heads per block (config `attention_head_dim`, see the type's note).
    public var attentionHeads: [Int]
    public var useLinearProjection: Bool
    public var upcastAttention: Bool
    public var resnetOutScaleFactor: Float
    public var timeEmbeddingDim: Int
    public var convInKernel: Int
    public var convOutKernel: Int

    /// The SD 2 base UNet (stabilityai/stable-diffusion-2-base), for benchmarks and tests.
    public static let sd2Base = UNet2DConditionModelConfig(
        blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2, crossAttentionDim: 1024,
        attentionHeads: [5, 10, 20, 20], useLinearProjection: true, sampleSize: 64)

    /// The SD 1.5 UNet, for benchmarks and tests.
    public static let sd15 = UNet2DConditionModelConfig(
        blockOutChannels: [320, 640, 1280, 1280], layersPerBlock: 2, crossAttentionDim: 768,
        attentionHeads: [8, 8, 8, 8], useLinearProjection: false, sampleSize: 64)

    /// A config of the SD layout: cross-attention down blocks but the last, plain up block first.
    public init(blockOutChannels: [Int], layersPerBlock: Int, crossAttentionDim: Int, attentionHeads: [Int],
                useLinearProjection: Bool, sampleSize: Int? = nil, normNumGroups: Int = 32, normEps: Float = 1e-5,
                flipSinToCos: Bool = true, freqShift: Int = 0, inChannels: Int = 4, outChannels: Int = 4) {
        let n = blockOutChannels.count
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.sampleSize = sampleSize
        centerInputSample = false
        self.flipSinToCos = flipSinToCos
        self.freqShift = freqShift
        downBlockTypes = [String](repeating: "CrossAttnDownBlock2D", count: n - 1) + ["DownBlock2D"]
        upBlockTypes = ["UpBlock2D"] + [String](repeating: "CrossAttnUpBlock2D", count: n - 1)
        midBlockType = "UNetMidBlock2DCrossAttn"
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = [Int](repeating: layersPerBlock, count: n)
        downsamplePadding = 1
        midBlockScaleFactor = 1
        self.normNumGroups = normNumGroups
        self.normEps = normEps
        self.crossAttentionDim = [Int](repeating: crossAttentionDim, count: n)
        transformerLayersPerBlock = [Int](repeating: 1, count: n)
        self.attentionHeads = attentionHeads
        self.useLinearProjection = useLinearProjection
        upcastAttention = false
        resnetOutScaleFactor = 1
        timeEmbeddingDim = blockOutChannels[0] * 4
        convInKernel = 3
        convOutKernel = 3
    }

    public init(_ config: ComponentConfig) throws {
        let file = config.file
        func fail(_ key: String, _ message: String, _ hint: String = "this UNet architecture is not supported") -> ModelLoadError {
            ModelLoadError(file: file, key: key, message: message, hint: hint)
        }
        if let className = config.className, className != "UNet2DConditionModel" {
            throw fail("_class_name", "unsupported UNet class `\(className)`; supported: UNet2DConditionModel",
                       "use a Stable Diffusion 1.x/2.x diffusers UNet")
        }
        inChannels = try config.int("in_channels", default: 4)
        outChannels = try config.int("out_channels", default: 4)
        sampleSize = try config.optionalInt("sample_size")
        centerInputSample = try config.bool("center_input_sample", default: false)
        flipSinToCos = try config.bool("flip_sin_to_cos", default: true)
        freqShift = try config.int("freq_shift", default: 0)
        downBlockTypes = try config.strings("down_block_types",
                                            default: ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"])
        upBlockTypes = try config.strings("up_block_types",
                                          default: ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"])
        // Absent: diffusers' default mid block; an explicit null: none.
        if let raw = config.values["mid_block_type"], raw.isNull {
            midBlockType = nil
        } else {
            midBlockType = try config.string("mid_block_type", default: "UNetMidBlock2DCrossAttn")
        }
        blockOutChannels = try config.ints("block_out_channels", default: [320, 640, 1280, 1280])
        let n = blockOutChannels.count
        guard n >= 1, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw fail("block_out_channels", "expected a non-empty list of positive channel counts, found \(blockOutChannels)", "fix the config")
        }
        guard downBlockTypes.count == n else {
            throw fail("down_block_types", "\(downBlockTypes.count) down blocks for \(n) entries of block_out_channels",
                       "the two lists must have the same length")
        }
        guard upBlockTypes.count == n else {
            throw fail("up_block_types", "\(upBlockTypes.count) up blocks for \(n) entries of block_out_channels",
                       "the two lists must have the same length")
        }
        layersPerBlock = try config.intOrInts("layers_per_block", count: n, default: 2)
        downsamplePadding = try config.int("downsample_padding", default: 1)
        midBlockScaleFactor = try config.float("mid_block_scale_factor", default: 1)
        normNumGroups = try config.int("norm_num_groups", default: 32)
        normEps = try config.float("norm_eps", default: 1e-5)
        crossAttentionDim = try config.intOrInts("cross_attention_dim", count: n, default: 1280)
        transformerLayersPerBlock = try config.intOrInts("transformer_layers_per_block", count: n, default: 1)
        if config.contains("num_attention_heads") {
            throw fail("num_attention_heads", "set, but diffusers' UNet2DConditionModel takes the head counts from `attention_head_dim`",
                       "remove `num_attention_heads` and put the head counts in `attention_head_dim`")
        }
        attentionHeads = try config.intOrInts("attention_head_dim", count: n, default: 8)
        useLinearProjection = try config.bool("use_linear_projection", default: false)
        upcastAttention = try config.bool("upcast_attention", default: false)   // float32 throughout: no effect
        resnetOutScaleFactor = try config.float("resnet_out_scale_factor", default: 1)
        timeEmbeddingDim = try config.optionalInt("time_embedding_dim") ?? blockOutChannels[0] * 4
        convInKernel = try config.int("conv_in_kernel", default: 3)
        convOutKernel = try config.int("conv_out_kernel", default: 3)

        for (i, type) in downBlockTypes.enumerated() where !Self.supportedDownBlockTypes.contains(type) {
            throw fail("down_block_types", "unsupported down block type `\(type)` (block \(i)); supported: \(Self.supportedDownBlockTypes.joined(separator: ", "))")
        }
        for (i, type) in upBlockTypes.enumerated() where !Self.supportedUpBlockTypes.contains(type) {
            throw fail("up_block_types", "unsupported up block type `\(type)` (block \(i)); supported: \(Self.supportedUpBlockTypes.joined(separator: ", "))")
        }
        if let mid = midBlockType, !Self.supportedMidBlockTypes.contains(mid) {
            throw fail("mid_block_type", "unsupported mid block type `\(mid)`; supported: \(Self.supportedMidBlockTypes.joined(separator: ", ")) or null")
        }
        // Settings whose non-default values select features this engine does not have.
        let mustBeNull = ["class_embed_type", "addition_embed_type", "encoder_hid_dim", "encoder_hid_dim_type",
                          "time_cond_proj_dim", "timestep_post_act", "time_embedding_act_fn", "cross_attention_norm",
                          "projection_class_embeddings_input_dim", "num_class_embeds", "addition_time_embed_dim",
                          "reverse_transformer_layers_per_block", "mid_block_only_cross_attention"]
        for key in mustBeNull where config.contains(key) {
            // `mid_block_only_cross_attention: false` is the same as null.
            if key == "mid_block_only_cross_attention", try config.bool(key) == false { continue }
            throw fail(key, "`\(key)` is set (\(config.values[key]!.description)); only null is supported",
                       "this is not a Stable Diffusion 1.x/2.x UNet; those leave `\(key)` null")
        }
        let expected: [(String, String)] = [("act_fn", "silu"), ("time_embedding_type", "positional"),
                                            ("resnet_time_scale_shift", "default"), ("attention_type", "default")]
        for (key, value) in expected {
            let found = try config.string(key, default: value)
            if found != value { throw fail(key, "unsupported value `\(found)`; supported: \(value)") }
        }
        for key in ["dual_cross_attention", "resnet_skip_time_act", "class_embeddings_concat"] where try config.bool(key, default: false) {
            throw fail(key, "`\(key): true` is not supported", "Stable Diffusion 1.x/2.x UNets have `\(key): false`")
        }
        if config.contains("only_cross_attention") {
            let value = config.values["only_cross_attention"]!
            let any = value.boolValue ?? (value.arrayValue?.contains { $0.boolValue == true } ?? true)
            if any { throw fail("only_cross_attention", "only `false` is supported, found \(value.description)") }
        }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels), ("norm_num_groups", normNumGroups),
                             ("time_embedding_dim", timeEmbeddingDim)] where value < 1 {
            throw fail(key, "expected a positive integer, found \(value)", "fix the config")
        }
        for (key, value) in [("conv_in_kernel", convInKernel), ("conv_out_kernel", convOutKernel)] where value < 1 || value % 2 == 0 {
            throw fail(key, "expected an odd kernel size, found \(value)", "fix the config")
        }
        if let bad = blockOutChannels.first(where: { $0 % normNumGroups != 0 }) {
            throw fail("norm_num_groups", "\(normNumGroups) groups do not divide \(bad) channels (block_out_channels \(blockOutChannels))",
                       "every entry of block_out_channels must be a multiple of norm_num_groups")
        }
        for (i, heads) in attentionHeads.enumerated() where heads < 1 || blockOutChannels[i] % heads != 0 {
            throw fail("attention_head_dim", "block \(i): \(heads) heads do not divide \(blockOutChannels[i]) channels",
                       "in UNet2DConditionModel `attention_head_dim` is the number of heads per block; it must divide block_out_channels")
        }
        for (key, list) in [("layers_per_block", layersPerBlock), ("transformer_layers_per_block", transformerLayersPerBlock),
                            ("cross_attention_dim", crossAttentionDim)] where list.contains(where: { $0 < 1 }) {
            throw fail(key, "expected positive values, found \(list)", "fix the config")
        }
    }

    /// 2^(number of down blocks with a downsampler): latent sizes that are not multiples of it make the up
    /// blocks upsample to the skip connections' sizes instead of by 2 (diffusers' `forward_upsample_size`).
    public var overallDownscaleFactor: Int { 1 << (blockOutChannels.count - 1) }
}
