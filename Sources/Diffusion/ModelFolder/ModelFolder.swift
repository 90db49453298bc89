import Foundation
import Tensors
import Support

/// A diffusers pipeline folder (what `pipeline.save_pretrained(dir)` writes and the Hub serves):
///
///     model_index.json        {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
///                              "unet": ["diffusers", "UNet2DConditionModel"], "vae": [...],
///                              "text_encoder": ["transformers", "CLIPTextModel"], "safety_checker": [null, null], ...}
///     unet/config.json + unet/diffusion_pytorch_model.safetensors
///     text_encoder/config.json + text_encoder/model.safetensors
///     scheduler/scheduler_config.json, tokenizer/vocab.json + merges.txt, ...
///
/// Opening reads only `model_index.json`; `component(_:)` checks a component's folder, and its
/// `config()` / `weights()` read the rest on demand. Every failure is a `ModelLoadError` naming the file
/// that was looked for.
public struct ModelFolder: Sendable {
    /// One `"name": [library, class]` entry of `model_index.json`. `[null, null]` (a component left out,
    /// e.g. `safety_checker`) has both nil.
    public struct ComponentEntry: Sendable, Equatable {
        public var name: String
        public var library: String?
        public var className: String?

        public init(name: String, library: String?, className: String?) {
            self.name = name
            self.library = library
            self.className = className
        }

        /// False for `[null, null]`.
        public var isIncluded: Bool { library != nil || className != nil }
    }

    public static let indexFileName = "model_index.json"

    public let url: URL
    /// `model_index.json`, with typed accessors (`try index.bool("requires_safety_checker", default: true)`).
    public let index: ComponentConfig
    /// `_class_name`, e.g. `StableDiffusionPipeline`.
    public let pipelineClassName: String
    /// `_diffusers_version`, when present.
    public let diffusersVersion: String?
    /// The components, sorted by name, including left-out (`[null, null]`) ones.
    public let components: [ComponentEntry]

    public var indexURL: URL { url.appendingPathComponent(Self.indexFileName) }

    public init(url: URL) throws {
        self.url = url
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelLoadError(file: url.path, message: "model folder not found", hint: "check the path")
        }
        guard isDirectory.boolValue else {
            throw ModelLoadError(file: url.path, message: "not a folder",
                                 hint: "pass a diffusers model folder (the one holding model_index.json); single-file checkpoints are not supported")
        }
        let indexURL = url.appendingPathComponent(Self.indexFileName)
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw ModelLoadError(file: indexURL.path, message: "file not found: this is not a diffusers pipeline folder",
                                 hint: "pass the folder written by diffusers `pipeline.save_pretrained(dir)` (it holds model_index.json); "
                                     + "for a single component (a folder with config.json) use ComponentFolder(url:)")
        }
        let index = try ComponentConfig(url: indexURL)
        self.index = index
        pipelineClassName = try index.string("_class_name")
        diffusersVersion = try index.optionalString("_diffusers_version")
        components = index.values.keys.sorted().compactMap { name in
            guard !name.hasPrefix("_"), let entry = Self.parseEntry(index.values[name]!) else { return nil }
            return ComponentEntry(name: name, library: entry.library, className: entry.className)
        }
    }

    /// `[library, class]` with each a string or null; nil for anything else (pipeline settings such as
    /// `"requires_safety_checker": true`).
    private static func parseEntry(_ value: JSONValue) -> (library: String?, className: String?)? {
        guard let pair = value.arrayValue, pair.count == 2 else { return nil }
        func part(_ v: JSONValue) -> String?? {
            if v.isNull { return .some(nil) }
            if let s = v.stringValue { return .some(s) }
            return nil
        }
        guard let library = part(pair[0]), let className = part(pair[1]) else { return nil }
        return (library, className)
    }

    /// The entry for `name`, or nil when `model_index.json` does not list it.
    public func entry(_ name: String) -> ComponentEntry? { components.first { $0.name == name } }

    /// The folder of component `name` (`unet`, `vae`, `text_encoder`, ...), which `model_index.json` must
    /// list as included and which must exist.
    public func component(_ name: String) throws -> ComponentFolder {
        guard let entry = entry(name) else {
            if let raw = index.values[name], !name.hasPrefix("_") {
                throw ModelLoadError(file: indexURL.path, key: name, message: "expected [library, class] for a component, found \(raw.description)",
                                     hint: "fix model_index.json, e.g. \"\(name)\": [\"diffusers\", \"UNet2DConditionModel\"]")
            }
            let listed = components.filter(\.isIncluded).map(\.name).joined(separator: ", ")
            throw ModelLoadError(file: indexURL.path, key: name, message: "no component `\(name)` (components: \(listed.isEmpty ? "none" : listed))",
                                 hint: "a \(pipelineClassName) folder is expected to list `\(name)`; check that this is the right model folder")
        }
        guard entry.isIncluded else {
            throw ModelLoadError(file: indexURL.path, key: name, message: "component `\(name)` is left out ([null, null])",
                                 hint: "this pipeline was saved without `\(name)`; use a model folder that includes it")
        }
        guard ComponentFolder.isPlainName(name) else {
            throw ModelLoadError(file: indexURL.path, key: name, message: "component name `\(name)` is not a plain folder name",
                                 hint: "fix model_index.json")
        }
        let folder = url.appendingPathComponent(name, isDirectory: true)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            let what = [entry.library, entry.className].compactMap { $0 }.joined(separator: " ")
            throw ModelLoadError(file: folder.path, message: "component folder not found (model_index.json lists `\(name)`: \(what))",
                                 hint: "the download is incomplete: get the model's `\(name)/` folder too")
        }
        return ComponentFolder(validatedURL: folder, name: name, library: entry.library, className: entry.className)
    }

    /// `component(name).config()`.
    public func config(_ name: String) throws -> ComponentConfig { try component(name).config() }

    /// `component(name).weights(prefer:)`.
    public func weights(_ name: String, prefer variant: WeightVariant = .full) throws -> WeightLoader {
        try component(name).weights(prefer: variant)
    }
}
