import Diffusion
import Pipeline

/// `vae:` of a generate stage: which VAE encodes the references and which decodes the generated images. `tiny` is
/// the folder of a TAESD (diffusers' `AutoencoderTiny`, e.g. madebyollin/taesd for SD 1.x/2.x), needed when either
/// side is `tiny`: several times cheaper than the model's KL VAE, slightly blurrier.
public struct GenerateVAEConfig: Codable, Hashable, Sendable {
    public enum Kind: String, ConfigEnum {
        case kl, tiny

        var engine: Img2ImgSettings.VAEKind { self == .kl ? .kl : .tiny }
    }

    public var encode: Kind = .kl
    public var decode: Kind = .kl
    public var tiny: String?

    public init() {}

    /// Whether a TAESD folder is used at all.
    public var usesTiny: Bool { encode == .tiny || decode == .tiny }

    enum CodingKeys: String, CodingKey { case encode, decode, tiny }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try c.decodeIfPresent(.encode, into: &encode)
        try c.decodeIfPresent(.decode, into: &decode)
        tiny = try c.decodeIfPresent(String.self, forKey: .tiny)
        if usesTiny && tiny == nil {
            throw DecodingError.dataCorruptedError(forKey: .tiny, in: c,
                                                   debugDescription: "`tiny` names the TAESD folder (diffusers AutoencoderTiny, e.g. madebyollin/taesd) that `encode: tiny` / `decode: tiny` use")
        }
    }
}
