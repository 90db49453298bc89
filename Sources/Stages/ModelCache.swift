import Adapter
import Diffusion
import Foundation
import Pipeline

/// Models loaded once per run (`StageContext.models`) and shared by every unit that names the same folder: the
/// weights are read-only, so workers can run them side by side. Loading errors are not cached (a fixed folder
/// loads on the next unit).
// Unchecked: the tables are guarded by a lock; cached models are read-only.
public final class ModelCache: @unchecked Sendable {
    public init() {}

    private let lock = NSLock()
    private var pipelines: [String: StableDiffusionImg2ImgPipeline] = [:]
    private var adapters: [String: DetectionAdapter] = [:]
    private var tinyVAEs: [String: AutoencoderTiny] = [:]
    private var loading: [String: NSLock] = [:]

    /// The diffusers pipeline of `folder` (tokenizer, text encoder, VAE, UNet, scheduler config), with `loras` fused.
    public func pipeline(_ folder: String, loras: [GenerateLoRAConfig] = [], stage: String) throws -> StableDiffusionImg2ImgPipeline {
        try cached(([folder] + loras.map(\.description)).joined(separator: "\n"), in: \.pipelines) {
            let weights = try loras.map { lora in
                (try Self.describingErrors(stage: stage, folder: lora.path) { try LoRAWeights(url: URL(fileURLWithPath: lora.path)) }, Float(lora.scale))
            }
            return try Self.describingErrors(stage: stage, folder: folder) {
                try StableDiffusionImg2ImgPipeline(folder: URL(fileURLWithPath: folder), loras: weights)
            }
        }
    }

    /// The Detection-Adapter in `folder` (a model's `adapter/`).
    public func adapter(_ folder: String, stage: String) throws -> DetectionAdapter {
        try cached(folder, in: \.adapters) {
            try Self.describingErrors(stage: stage, folder: folder) { try DetectionAdapter(folder: URL(fileURLWithPath: folder)) }
        }
    }

    /// The TAESD (diffusers `AutoencoderTiny`) in `folder`.
    public func tinyVAE(_ folder: String, stage: String) throws -> AutoencoderTiny {
        try cached(folder, in: \.tinyVAEs) {
            try Self.describingErrors(stage: stage, folder: folder) { try AutoencoderTiny(folder: URL(fileURLWithPath: folder)) }
        }
    }

    private func cached<T>(_ key: String, in table: ReferenceWritableKeyPath<ModelCache, [String: T]>, load: () throws -> T) throws -> T {
        lock.lock()
        if let value = self[keyPath: table][key] { lock.unlock(); return value }
        let gate = loading[key] ?? NSLock()
        loading[key] = gate
        lock.unlock()
        // One loader per folder; others wait for it instead of reading the same weights twice.
        gate.lock(); defer { gate.unlock() }
        lock.lock()
        if let value = self[keyPath: table][key] { lock.unlock(); return value }
        lock.unlock()
        let value = try load()
        lock.lock()
        self[keyPath: table][key] = value
        lock.unlock()
        return value
    }

    static func describingErrors<T>(stage: String, folder: String, _ body: () throws -> T) throws -> T {
        guard FileManager.default.fileExists(atPath: folder) else {
            throw StageError(stage: stage, message: "the model folder \(folder) does not exist",
                             hint: "see data/README.md for where models go (the shipped demo model is models/demo)")
        }
        do {
            return try body()
        } catch let error as StageError {
            throw error
        } catch {
            throw StageError(stage: stage, message: "cannot load \(folder): \(error)",
                             hint: "a diffusers folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/) with adapter/ for detection; see data/README.md")
        }
    }
}
