/// `config.json` of diffusers' `AutoencoderTiny` (TAESD, madebyollin/taesd and taesd2 folders). Absent or `null`
/// fields take diffusers' constructor defaults. Only ReLU and nearest upsampling by 2 (what TAESD uses) are
/// supported; anything else is a `ModelLoadError` naming the key.
public struct AutoencoderTinyConfig: Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var encoderBlockOutChannels: [Int]
    public var decoderBlockOutChannels: [Int]
    public var numEncoderBlocks: [Int]
    public var numDecoderBlocks: [Int]
    public var latentChannels: Int
    /// The encoder's latents are used as they are; `scaling_factor` (1.0 for TAESD) multiplies them for diffusion.
    public var scalingFactor: Float

    /// The spatial factor between images and latents: one stride-2 convolution per encoder block after the first.
    public var downscaleFactor: Int { 1 << (encoderBlockOutChannels.count - 1) }

    public init(_ config: ComponentConfig) throws {
        let file = config.file
        func fail(_ key: String, _ message: String, _ hint: String = "fix the config") -> ModelLoadError {
            ModelLoadError(file: file, key: key, message: message, hint: hint)
        }
        if let className = config.className, className != "AutoencoderTiny" {
            throw fail("_class_name", "expected AutoencoderTiny (TAESD), found `\(className)`", "give the folder of a TAESD model (e.g. madebyollin/taesd)")
        }
        inChannels = try config.int("in_channels", default: 3)
        outChannels = try config.int("out_channels", default: 3)
        encoderBlockOutChannels = try config.ints("encoder_block_out_channels", default: [64, 64, 64, 64])
        decoderBlockOutChannels = try config.ints("decoder_block_out_channels", default: [64, 64, 64, 64])
        numEncoderBlocks = try config.ints("num_encoder_blocks", default: [1, 3, 3, 3])
        numDecoderBlocks = try config.ints("num_decoder_blocks", default: [3, 3, 3, 1])
        latentChannels = try config.int("latent_channels", default: 4)
        scalingFactor = Float(try config.double("scaling_factor", default: 1.0))
        let act = try config.string("act_fn", default: "relu")
        guard act == "relu" else { throw fail("act_fn", "unsupported activation `\(act)`; supported: relu", "TAESD uses \"relu\"") }
        let upsample = try config.string("upsample_fn", default: "nearest")
        guard upsample == "nearest" else { throw fail("upsample_fn", "unsupported upsampling `\(upsample)`; supported: nearest") }
        let factor = try config.int("upsampling_scaling_factor", default: 2)
        guard factor == 2 else { throw fail("upsampling_scaling_factor", "unsupported factor \(factor); supported: 2") }
        let shift = try config.double("shift_factor", default: 0)
        guard shift == 0 else { throw fail("shift_factor", "a shift of \(shift) is not supported (SD 1.x/2.x TAESD has none)") }
        guard !encoderBlockOutChannels.isEmpty, encoderBlockOutChannels.count == numEncoderBlocks.count else {
            throw fail("num_encoder_blocks", "\(numEncoderBlocks.count) entries for \(encoderBlockOutChannels.count) encoder_block_out_channels",
                       "the two lists must have the same (non-zero) length")
        }
        guard !decoderBlockOutChannels.isEmpty, decoderBlockOutChannels.count == numDecoderBlocks.count else {
            throw fail("num_decoder_blocks", "\(numDecoderBlocks.count) entries for \(decoderBlockOutChannels.count) decoder_block_out_channels",
                       "the two lists must have the same (non-zero) length")
        }
        for (key, values) in [("encoder_block_out_channels", encoderBlockOutChannels), ("decoder_block_out_channels", decoderBlockOutChannels)]
            where values.contains(where: { $0 < 1 }) {
            throw fail(key, "expected positive channel counts, found \(values)")
        }
        // diffusers builds each block for its own width but feeds it the previous block's output: it runs only
        // when all blocks of a side have one width (TAESD: 64).
        for (key, values) in [("encoder_block_out_channels", encoderBlockOutChannels), ("decoder_block_out_channels", decoderBlockOutChannels)]
            where Set(values).count > 1 {
            throw fail(key, "blocks of different widths \(values) do not run in diffusers' AutoencoderTiny", "give every block the same width")
        }
        for (key, values) in [("num_encoder_blocks", numEncoderBlocks), ("num_decoder_blocks", numDecoderBlocks)]
            where values.contains(where: { $0 < 0 }) {
            throw fail(key, "expected block counts of 0 or more, found \(values)")
        }
        for (key, value) in [("in_channels", inChannels), ("out_channels", outChannels), ("latent_channels", latentChannels)] where value < 1 {
            throw fail(key, "expected a positive integer, found \(value)")
        }
    }
}
