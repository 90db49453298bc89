import Foundation
import Tensors

/// transformers' `CLIPTextModel`, the text encoder of Stable Diffusion 1.x/2.x (`text_encoder/` of a
/// diffusers folder): token + position embeddings, `num_hidden_layers` pre-norm encoder layers with the
/// causal mask, and a final LayerNorm.
///
///     let encoder = try CLIPTextModel(folder: modelURL.appendingPathComponent("text_encoder"))
///     let states = try encoder(ids)       // last_hidden_state, (batch, tokens, hidden_size)
///
/// Like diffusers' pipelines, no padding attention mask is applied: every token attends to itself and the
/// tokens before it (transformers builds only the causal mask when `attention_mask` is None).
///
/// Weights are read with the checkpoint's key names: `text_model.embeddings.token_embedding.weight`,
/// `text_model.encoder.layers.0.self_attn.q_proj.weight`, ..., `text_model.final_layer_norm.weight`
/// (transformers 4 exports and the published SD checkpoints), or the same keys without `text_model.`
/// (what transformers 5 `save_pretrained` writes). A missing, mis-shaped or unexpected key fails at load
/// with its full name and the file.
public struct CLIPTextModel: Sendable {
    public let config: CLIPTextConfig
    public let embeddings: CLIPTextEmbeddings
    public let layers: [CLIPEncoderLayer]
    let finalNorm: LayerNormLayer

    /// What `forward` returns.
    public struct Output: Sendable {
        /// After final_layer_norm: (batch, tokens, hidden_size).
        public var lastHiddenState: Tensor
        /// transformers' `pooler_output`: `lastHiddenState` at each row's end-of-text token, (batch, hidden_size).
        public var pooledOutput: Tensor
        /// With `outputHiddenStates`: transformers' `hidden_states`, the embeddings then each layer's
        /// output (num_hidden_layers + 1 tensors, none with final_layer_norm); else empty.
        public var hiddenStates: [Tensor]
    }

    /// Builds the model from a config and weights, whose keys are under `text_model.` or at the root.
    public init(config: CLIPTextConfig, weights: WeightLoader) throws {
        self.config = config
        let root = weights.childNames.contains("text_model") ? weights.scoped("text_model") : weights
        (embeddings, layers, finalNorm) = try ModelLoadError.converting {
            let embeddings = try CLIPTextEmbeddings(root.scoped("embeddings"), config: config)
            let layerScope = root.scoped("encoder").scoped("layers")
            let layers = try (0..<config.numHiddenLayers).map { try CLIPEncoderLayer(layerScope.scoped($0), config: config) }
            let norm = try LayerNormLayer(root.scoped("final_layer_norm"), dim: config.hiddenSize, eps: config.layerNormEps)
            if weights.contains("text_projection.weight") {
                throw WeightError(file: weights.source, key: "text_projection.weight",
                                  message: "a CLIPTextModelWithProjection checkpoint (CLIPTextModel plus a projection head), not a CLIPTextModel",
                                  hint: "this is e.g. SDXL's text_encoder_2; only Stable Diffusion 1.x/2.x text encoders (CLIPTextModel) are supported")
            }
            try weights.checkAllUsed()
            return (embeddings, layers, norm)
        }
    }

    /// A text encoder folder: `config.json` and `model.safetensors` (or `model.fp16.safetensors`, or a
    /// shard index).
    public init(folder: URL, prefer variant: WeightVariant = .full) throws {
        try self.init(component: try ComponentFolder(url: folder), prefer: variant)
    }

    /// The `text_encoder` (or another named) component of a diffusers model folder.
    public init(modelFolder: ModelFolder, component name: String = "text_encoder", prefer variant: WeightVariant = .full) throws {
        try self.init(component: try modelFolder.component(name), prefer: variant)
    }

    public init(component: ComponentFolder, prefer variant: WeightVariant = .full) throws {
        let config = try CLIPTextConfig(component.config())
        try self.init(config: config, weights: try component.weights(prefer: variant))
    }

    /// last_hidden_state for `ids` (batch rows of equal length, at most max_position_embeddings each):
    /// (batch, tokens, hidden_size).
    public func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        try forward(ids).lastHiddenState
    }

    /// What diffusers' `encode_prompt` computes without CLIP skip: each prompt tokenized with
    /// `padding="max_length", max_length=tokenizer.model_max_length, truncation=True` (77 when the tokenizer
    /// config has no model_max_length, at most max_position_embeddings, where diffusers would fail), then
    /// last_hidden_state, (prompts, 77, hidden_size). Truncation is reported by the tokenizer
    /// (`onTruncation`), as diffusers logs it.
    public func encode(_ prompts: [String], tokenizer: CLIPTokenizer) throws -> Tensor {
        let maxLength = min(tokenizer.modelMaxLength ?? 77, config.maxPositionEmbeddings)
        return try self(prompts.map { tokenizer($0, maxLength: maxLength).ids })
    }

    /// The full output; `outputHiddenStates` also keeps each layer's input/output (for CLIP skip:
    /// diffusers' `clip_skip` takes `hiddenStates[hiddenStates.count - 1 - skip]` and applies
    /// `finalLayerNorm(_:)`).
    public func forward(_ ids: [[Int]], outputHiddenStates: Bool = false) throws -> Output {
        var h = try embeddings(ids)
        var states: [Tensor] = outputHiddenStates ? [h] : []
        for layer in layers {
            h = layer(h)
            if outputHiddenStates { states.append(h) }
        }
        let last = finalNorm(h)
        return Output(lastHiddenState: last, pooledOutput: pooled(last, ids), hiddenStates: states)
    }

    /// The final LayerNorm alone (for hidden states taken before the last layer).
    public func finalLayerNorm(_ x: Tensor) -> Tensor { finalNorm(x) }

    /// transformers' pooling: with `eos_token_id == 2` (configs older than transformers PR #24773) the
    /// position of each row's largest id, else the first position of `eos_token_id` (0 when absent).
    func pooled(_ last: Tensor, _ ids: [[Int]]) -> Tensor {
        let (tokens, d) = (last.shape[1], last.shape[2])
        var out = [Float]()
        out.reserveCapacity(ids.count * d)
        for (b, row) in ids.enumerated() {
            let position: Int
            if config.eosTokenID == 2 {
                // torch.argmax: the first maximal index.
                var best = 0
                for (i, id) in row.enumerated() where id > row[best] { best = i }
                position = best
            } else {
                position = row.firstIndex { $0 == config.eosTokenID } ?? 0
            }
            let start = (b * tokens + position) * d
            out.append(contentsOf: last.scalars[start..<start + d])
        }
        return Tensor(shape: [ids.count, d], scalars: out)
    }
}
