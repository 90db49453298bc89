import Foundation
import Tensors

/// A LoRA file (safetensors) read as weight deltas to fuse into the UNet and the text encoder at load, as diffusers'
/// `load_lora_weights(file)` + `fuse_lora(lora_scale=scale)` does: for each adapted layer W += scale x (alpha / rank)
/// x (up @ down), with up (out, rank[, 1, 1]) and down (rank, in[, kh, kw]); without an alpha the scaling is 1.
///
/// Two key layouts:
/// - diffusers' own (`save_lora_weights`, PEFT names): `unet.<module>.lora_A.weight` / `.lora_B.weight` (or the older
///   `.lora.down.weight` / `.lora.up.weight`), `text_encoder.<module>...`, optional `<component>.<module>.alpha`;
/// - kohya / sd-scripts: `lora_unet_<module with '_' for '.'>.lora_down.weight` / `.lora_up.weight` / `.alpha`, and
///   `lora_te_...` for the text encoder. The module is found among the model's own weight names.
///
/// A key of neither layout, a pair missing its other half, a module the model does not have and SDXL's second text
/// encoder (`lora_te2_`) are refused by name.
public struct LoRAWeights: Sendable {
    /// One adapted layer: the two factors and the alpha the file gives (nil: none).
    struct Layer: Sendable {
        var down: Tensor?
        var up: Tensor?
        var alpha: Float?
    }

    public let file: String
    /// By component ("unet", "text_encoder"), then by module: a dotted name (diffusers layout) or kohya's underscored one.
    var layers: [String: [String: Layer]]
    /// Whether the modules are kohya's underscored names (resolved against the model's weights).
    let kohya: Bool

    public init(url: URL) throws {
        file = url.path
        let weights = WeightLoader(file: try SafeTensorsFile(url: url))
        var layers: [String: [String: Layer]] = [:]
        var kohyaKeys = 0, diffusersKeys = 0
        for key in weights.keys {
            func fail(_ message: String, _ hint: String = "use a LoRA in diffusers' or kohya's layout for SD 1.x/2.x") -> WeightError {
                WeightError(file: url.path, key: key, message: message, hint: hint)
            }
            let (component, module, part) = try Self.split(key, fail: fail)
            if key.hasPrefix("lora_") { kohyaKeys += 1 } else { diffusersKeys += 1 }
            var layer = layers[component]?[module] ?? Layer()
            let tensor = try weights.tensor(key)
            switch part {
            case .down: layer.down = tensor
            case .up: layer.up = tensor
            case .alpha:
                guard tensor.scalars.count == 1, tensor.scalars[0].isFinite, tensor.scalars[0] > 0 else { throw fail("an alpha must be one positive number") }
                layer.alpha = tensor.scalars[0]
            }
            layers[component, default: [:]][module] = layer
        }
        guard kohyaKeys == 0 || diffusersKeys == 0 else {
            throw WeightError(file: url.path, key: nil, message: "mixes kohya (`lora_unet_...`) and diffusers (`unet....`) keys",
                              hint: "convert the file to one layout")
        }
        guard kohyaKeys + diffusersKeys > 0 else { throw WeightError(file: url.path, key: nil, message: "holds no tensors", hint: "give a LoRA file") }
        for (component, modules) in layers {
            for (module, layer) in modules where layer.down == nil || layer.up == nil {
                throw WeightError(file: url.path, key: "\(component).\(module)", message: "has \(layer.down == nil ? "no down (lora_A)" : "no up (lora_B)") weight",
                                  hint: "the file is incomplete: export the LoRA again")
            }
        }
        self.layers = layers
        kohya = kohyaKeys > 0
    }

    enum Part { case down, up, alpha }

    /// (component, module, part) of a key in either layout.
    static func split(_ key: String, fail: (String, String) -> WeightError) throws -> (String, String, Part) {
        let suffixes: [(String, Part)] = [(".lora_A.weight", .down), (".lora_B.weight", .up), (".lora.down.weight", .down),
                                          (".lora.up.weight", .up), (".lora_down.weight", .down), (".lora_up.weight", .up), (".alpha", .alpha)]
        guard let (suffix, part) = suffixes.first(where: { key.hasSuffix($0.0) }) else {
            throw fail("is not a LoRA weight (expected lora_A/lora_B, lora.down/lora.up, lora_down/lora_up or alpha)",
                       "DoRA, LoCon/LyCORIS and other adapter kinds are not supported")
        }
        let name = String(key.dropLast(suffix.count))
        for (prefix, component) in [("lora_unet_", "unet"), ("lora_te_", "text_encoder"), ("lora_te1_", "text_encoder"),
                                    ("unet.", "unet"), ("text_encoder.", "text_encoder")] where name.hasPrefix(prefix) {
            return (component, String(name.dropFirst(prefix.count)), part)
        }
        if name.hasPrefix("lora_te2_") || name.hasPrefix("text_encoder_2.") {
            throw fail("adapts a second text encoder (SDXL)", "this engine runs SD 1.x/2.x, which have one text encoder")
        }
        throw fail("names no component (expected unet., text_encoder., lora_unet_ or lora_te_)", "use a LoRA for SD 1.x/2.x")
    }

    /// Whether the file adapts `component` at all.
    public func adapts(_ component: String) -> Bool { !(layers[component] ?? [:]).isEmpty }

    /// The deltas for `component` at `scale`, keyed by the weights they change (`<module>.weight`, relative to
    /// `weights`' scope). A module the model lacks is refused by name.
    public func deltas(_ component: String, scale: Float, for weights: WeightLoader) throws -> [String: Tensor] {
        guard let modules = layers[component] else { return [:] }
        // kohya names modules with '_' for '.': match them against the model's own weight names.
        var byUnderscored: [String: String] = [:]
        if kohya {
            for key in weights.keys where key.hasSuffix(".weight") {
                let relative = weights.prefix.isEmpty ? key : String(key.dropFirst(weights.prefix.count + 1))
                let module = String(relative.dropLast(".weight".count))
                byUnderscored[module.replacingOccurrences(of: ".", with: "_")] = module
            }
        }
        var deltas: [String: Tensor] = [:]
        for (name, layer) in modules.sorted(by: { $0.key < $1.key }) {
            // transformers 5 saves CLIP's layers without the `text_model.` level the weight files keep.
            let candidates = kohya ? [byUnderscored[name]].compactMap { $0 } : [name, "text_model." + name]
            guard let module = candidates.first(where: { weights.contains($0 + ".weight") }) else {
                throw WeightError(file: file, key: "\(component): \(name)", message: "matches no layer of the model's \(component) (\(weights.source))",
                                  hint: "the LoRA was made for another model or architecture")
            }
            let down = layer.down!, up = layer.up!
            let rank = down.shape[0]
            guard rank > 0, up.shape.count >= 2, up.shape[1] == rank, up.shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
                throw WeightError(file: file, key: "\(component): \(name)", message: "up \(up.shape) and down \(down.shape) do not form a rank-\(rank) pair",
                                  hint: "the file is damaged: export the LoRA again")
            }
            let inner = down.scalars.count / rank
            let product = Tensor.matmul(Tensor(shape: [up.shape[0], rank], scalars: up.scalars),
                                        Tensor(shape: [rank, inner], scalars: down.scalars))
            let factor = scale * (layer.alpha.map { $0 / Float(rank) } ?? 1)
            guard let shape = weights.info(module + ".weight")?.shape, shape.reduce(1, *) == product.scalars.count else {
                throw WeightError(file: file, key: "\(component): \(name)", message: "a \(up.shape[0])x\(inner) update for a weight of another size",
                                  hint: "the LoRA was made for another model or architecture")
            }
            deltas[module + ".weight"] = Tensor(shape: shape, scalars: product.scalars) * factor
        }
        return deltas
    }
}
