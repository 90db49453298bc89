import Foundation
import Tensors

/// transformers' `CLIPTextConfig`, read from a text encoder's `config.json` (`text_encoder/config.json`
/// of a diffusers folder).
///
/// The architecture sizes (`hidden_size`, `intermediate_size`, `num_hidden_layers`,
/// `num_attention_heads`) are required; the other fields fall back to transformers' defaults when absent
/// or `null`, as `CLIPTextConfig.from_pretrained` does. Every problem is a `ModelLoadError` naming the file
/// and the field.
public struct CLIPTextConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var maxPositionEmbeddings: Int
    /// The MLP's activation, from `hidden_act`.
    public var hiddenAct: Activation
    public var layerNormEps: Float
    public var padTokenID: Int?
    public var bosTokenID: Int?
    /// transformers allows a list; the first entry is kept (used only for the pooled output).
    public var eosTokenID: Int?

    /// The config file, for messages ("" for a config built in code).
    public var file: String

    /// The `hidden_act` names supported, each with the activation it means. transformers' "gelu" is the
    /// exact (erf) GELU; "gelu_new" and "gelu_pytorch_tanh" are the tanh approximation.
    public static let supportedActivations: [(name: String, activation: Activation)] = [
        ("quick_gelu", .quickGELU),
        ("gelu", .gelu),
        ("gelu_new", .geluTanh),
        ("gelu_pytorch_tanh", .geluTanh),
        ("silu", .silu),
        ("swish", .silu),
    ]

    /// The activation for a transformers `hidden_act` name, nil when not supported.
    public static func activation(named name: String) -> Activation? {
        supportedActivations.first { $0.name == name }?.activation
    }

    public init(vocabSize: Int = 49408, hiddenSize: Int, intermediateSize: Int, numHiddenLayers: Int, numAttentionHeads: Int,
                maxPositionEmbeddings: Int = 77, hiddenAct: Activation = .quickGELU, layerNormEps: Float = 1e-5,
                padTokenID: Int? = 1, bosTokenID: Int? = 49406, eosTokenID: Int? = 49407, file: String = "") {
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.hiddenAct = hiddenAct
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.file = file
    }

    /// Reads `config.json` at `url`.
    public init(url: URL) throws {
        try self.init(try ComponentConfig(url: url))
    }

    /// From a parsed `config.json`.
    public init(_ config: ComponentConfig) throws {
        file = config.file
        hiddenSize = try Self.positive(config, "hidden_size")
        intermediateSize = try Self.positive(config, "intermediate_size")
        numHiddenLayers = try config.int("num_hidden_layers")
        guard numHiddenLayers >= 0 else {
            throw ModelLoadError(file: file, key: "num_hidden_layers", message: "expected a count >= 0, found \(numHiddenLayers)",
                                 hint: "fix `num_hidden_layers` in the config")
        }
        numAttentionHeads = try Self.positive(config, "num_attention_heads")
        guard hiddenSize % numAttentionHeads == 0 else {
            throw ModelLoadError(file: file, key: "num_attention_heads",
                                 message: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)",
                                 hint: "the config is inconsistent: check that it belongs to this text encoder")
        }
        vocabSize = try Self.positive(config, "vocab_size", default: 49408)
        maxPositionEmbeddings = try Self.positive(config, "max_position_embeddings", default: 77)
        let act = try config.string("hidden_act", default: "quick_gelu")
        guard let activation = Self.activation(named: act) else {
            let names = Self.supportedActivations.map { "\"\($0.name)\"" }.joined(separator: ", ")
            throw ModelLoadError(file: file, key: "hidden_act", message: "unsupported activation \"\(act)\" (supported: \(names))",
                                 hint: "Stable Diffusion 1.x text encoders use \"quick_gelu\", 2.x use \"gelu\"")
        }
        hiddenAct = activation
        layerNormEps = try config.float("layer_norm_eps", default: 1e-5)
        // Absent: transformers' default; `null`: none.
        padTokenID = config["pad_token_id"] == nil ? 1 : try config.optionalInt("pad_token_id")
        bosTokenID = config["bos_token_id"] == nil ? 49406 : try config.optionalInt("bos_token_id")
        if let ids = config["eos_token_id"]?.arrayValue {
            eosTokenID = ids.first?.intValue
        } else {
            eosTokenID = config["eos_token_id"] == nil ? 49407 : try config.optionalInt("eos_token_id")
        }
    }

    /// hidden_size / num_attention_heads.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    private static func positive(_ config: ComponentConfig, _ field: String, default value: Int? = nil) throws -> Int {
        let v = try value.map { try config.int(field, default: $0) } ?? config.int(field)
        guard v > 0 else {
            throw ModelLoadError(file: config.file, key: field, message: "expected a positive integer, found \(v)",
                                 hint: "fix `\(field)` in the config")
        }
        return v
    }
}
