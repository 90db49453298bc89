import Tensors

/// `vae/config.json` of diffusers' `AutoencoderKL`. Absent or `null` fields take diffusers' constructor
/// defaults. Only what the SD VAEs use is supported: `DownEncoderBlock2D` / `UpDecoderBlock2D` blocks and the
/// SiLU activation; anything else is a `ModelLoadError` naming the value and listing what is supported.
/// Fields that only matter to other pipelines (`force_upcast`, `latents_mean`, `latents_std`) are ignored.
public struct AutoencoderKLConfig: Sendable, Equatable {
    public static let supportedDownBlockTypes = ["DownEncoderBlock2D"]
    public static let supportedUpBlockTypes = ["UpDecoderBlock2D"]
    public static let supportedActivations: [Activation] = [.silu]

    public var inChannels: Int
    public var outChannels: Int
    public var downBlockTypes: [String]
    public var upBlockTypes: [String]
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var activation: Activation
    public var latentChannels: Int
    public var normNumGroups: Int
    public var sampleSize: Int
    public var scalingFactor: Float
    /// SD3/Flux VAEs shift latents before scaling; nil (SD 1.x/2.x/XL) means no shift.
    public var shiftFactor: Float?
    public var useQuantConv: Bool
    public var usePostQuantConv: Bool
    public var midBlockAddAttention: Bool

    /// The group norm epsilon diffusers' VAE uses everywhere (`resnet_eps=1e-6`, not in the config).
    public var normEps: Float { 1e-6 }

    /// The spatial factor between images and latents: 2^(blocks - 1).
    public var downscaleFactor: Int { 1 << (blockOutChannels.count - 1) }

    /// The SD 1.x VAE's settings (for building models in tests); `blockOutChannels` [128, 256, 512, 512].
    public init(inChannels: Int = 3, outChannels: Int = 3, blockOutChannels: [Int] = [128, 256, 512, 512],
                layersPerBlock: Int = 2, latentChannels: Int = 4, normNumGroups: Int = 32, sampleSize: Int = 512,
                scalingFactor: Float = 0.18215, shiftFactor: Float? = nil, useQuantConv: Bool = true,
                usePostQuantConv: Bool = true, midBlockAddAttention: Bool = true) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        downBlockTypes = [String](repeating: "DownEncoderBlock2D", count: blockOutChannels.count)
        upBlockTypes = [String](repeating: "UpDecoderBlock2D", count: blockOutChannels.count)
        self.blockOutChannels = blockOutChannels
        self.layersPerBlock = layersPerBlock
        activation = .silu
        self.latentChannels = latentChannels
        self.normNumGroups = normNumGroups
        self.sampleSize = sampleSize
        self.scalingFactor = scalingFactor
        self.shiftFactor = shiftFactor
        self.useQuantConv = useQuantConv
        self.usePostQuantConv = usePostQuantConv
        self.midBlockAddAttention = midBlockAddAttention
    }

    public init(_ config: ComponentConfig) throws {
        let file = config.file
        if let className = config.className, className != "AutoencoderKL" {
            throw ModelLoadError(file: file, key: "_class_name", message: "unsupported VAE class `\(className)`; supported: AutoencoderKL",
                                 hint: "use a Stable Diffusion 1.x/2.x/XL style VAE (diffusers AutoencoderKL)")
        }
        inChannels = try config.int("in_channels", default: 3)
        outChannels = try config.int("out_channels", default: 3)
        downBlockTypes = try config.strings("down_block_types", default: ["DownEncoderBlock2D"])
        upBlockTypes = try config.strings("up_block_types", default: ["UpDecoderBlock2D"])
        blockOutChannels = try config.ints("block_out_channels", default: [64])
        layersPerBlock = try config.int("layers_per_block", default: 1)
        let act = try config.string("act_fn", default: "silu")
        latentChannels = try config.int("latent_channels", default: 4)
        normNumGroups = try config.int("norm_num_groups", default: 32)
        sampleSize = try config.int("sample_size", default: 32)
        scalingFactor = try config.float("scaling_factor", default: 0.18215)
        shiftFactor = config.contains("shift_factor") ? try config.float("shift_factor") : nil
        useQuantConv = try config.bool("use_quant_conv", default: true)
        usePostQuantConv = try config.bool("use_post_quant_conv", default: true)
        midBlockAddAttention = try config.bool("mid_block_add_attention", default: true)

        func fail(_ key: String, _ message: String, _ hint: String) -> ModelLoadError {
            ModelLoadError(file: file, key: key, message: message, hint: hint)
        }
        guard let activation = Activation(configName: act), Self.supportedActivations.contains(activation) else {
            throw fail("act_fn", "unsupported activation `\(act)`; supported: \(Self.supportedActivations.map(\.rawValue).joined(separator: ", "))",
                       "the Stable Diffusion VAEs use \"silu\"")
        }
        self.activation = activation
        for (i, type) in downBlockTypes.enumerated() where !Self.supportedDownBlockTypes.contains(type) {
            throw fail("down_block_types", "unsupported down block type `\(type)` (block \(i)); supported: \(Self.supportedDownBlockTypes.joined(separator: ", "))",
                       "this VAE architecture is not supported")
        }
        for (i, type) in upBlockTypes.enumerated() where !Self.supportedUpBlockTypes.contains(type) {
            throw fail("up_block_types", "unsupported up block type `\(type)` (block \(i)); supported: \(Self.supportedUpBlockTypes.joined(separator: ", "))",
                       "this VAE architecture is not supported")
        }
        guard !blockOutChannels.isEmpty, blockOutChannels.allSatisfy({ $0 > 0 }) else {
            throw fail("block_out_channels", "expected a non-empty list of positive channel counts, found \(blockOutChannels)", "fix the config")
        }
        guard downBlockTypes.count == blockOutChannels.count else {
            throw fail("down_block_types", "\(downBlockTypes.count) down blocks for \(blockOutChannels.count) entries of block_out_channels",
                       "the two lists must have the same length")
        }
        guard upBlockTypes.count == blockOutChannels.count else {
            throw fail("up_block_types", "\(upBlockTypes.count) up blocks for \(blockOutChannels.count) entries of block_out_channels",
                       "the two lists must have the same length")
        }
        guard layersPerBlock >= 1 else { throw fail("layers_per_block", "expected at least 1, found \(layersPerBlock)", "fix the config") }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels), ("latent_channels", latentChannels),
                             ("norm_num_groups", normNumGroups)] where value < 1 {
            throw fail(key, "expected a positive integer, found \(value)", "fix the config")
        }
        if let bad = blockOutChannels.first(where: { $0 % normNumGroups != 0 }) {
            throw fail("norm_num_groups", "\(normNumGroups) groups do not divide \(bad) channels (block_out_channels \(blockOutChannels))",
                       "every entry of block_out_channels must be a multiple of norm_num_groups")
        }
    }
}
