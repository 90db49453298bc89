import Foundation
import Tensors

/// One component folder of a diffusers model (`unet/`, `vae/`, `text_encoder/`, `scheduler/`), or a
/// standalone component folder (e.g. a VAE published alone: `config.json` + weights).
public struct ComponentFolder: Sendable {
    public let url: URL
    /// The component's name (`unet`); for a standalone folder, its folder name.
    public let name: String
    /// From `model_index.json`: `diffusers` or `transformers`; nil for a standalone folder.
    public let library: String?
    /// From `model_index.json` (`UNet2DConditionModel`), else nil; `config().className` has the config's.
    public let className: String?

    /// Config file names, in the order they are looked for: models write `config.json`, schedulers
    /// `scheduler_config.json`.
    public static let configFileNames = ["config.json", "scheduler_config.json"]

    /// A standalone component folder, which must exist.
    public init(url: URL, name: String? = nil, library: String? = nil, className: String? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelLoadError(file: url.path, message: "component folder not found", hint: "check the path")
        }
        guard isDirectory.boolValue else {
            throw ModelLoadError(file: url.path, message: "not a folder", hint: "pass the folder holding config.json and the weights")
        }
        self.init(validatedURL: url, name: name ?? url.lastPathComponent, library: library, className: className)
    }

    init(validatedURL url: URL, name: String, library: String?, className: String?) {
        self.url = url
        self.name = name
        self.library = library
        self.className = className
    }

    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\")
    }

    // MARK: - Config

    /// The config file: `config.json`, else `scheduler_config.json`.
    public func configURL() throws -> URL {
        for fileName in Self.configFileNames {
            let candidate = url.appendingPathComponent(fileName)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        throw ModelLoadError(file: url.appendingPathComponent(Self.configFileNames[0]).path,
                             message: "file not found (also looked for \(Self.configFileNames.dropFirst().joined(separator: ", ")) in \(url.path))",
                             hint: "the download is incomplete: get the component's config.json too")
    }

    /// The parsed config (a JSON object).
    public func config() throws -> ComponentConfig { try ComponentConfig(url: configURL()) }

    // MARK: - Weights

    /// Which weight file to use; see `WeightVariant`.
    public func weightFiles(prefer variant: WeightVariant = .full) throws -> ComponentWeightFiles {
        try ComponentWeightFiles.find(in: self, prefer: variant)
    }

    /// A `WeightLoader` over the component's safetensors weights (one file or the shards of an index).
    /// Errors from opening the files come as `ModelLoadError`.
    public func weights(prefer variant: WeightVariant = .full) throws -> WeightLoader {
        let files = try weightFiles(prefer: variant)
        return try ModelLoadError.converting { try WeightLoader(url: files.url) }
    }
}
