import Foundation
import Tensors

/// Which precision of a component's weights to prefer. Weights are converted to fp32 on load either way;
/// the fp16 variant is half the size to read. Either preference falls back to the other precision when
/// its files are missing (a folder may ship only `diffusion_pytorch_model.fp16.safetensors`).
public enum WeightVariant: String, Sendable, CaseIterable {
    /// `diffusion_pytorch_model.safetensors` / `model.safetensors` (and their shard indexes).
    case full
    /// `diffusion_pytorch_model.fp16.safetensors` / `model.fp16.safetensors`, and
    /// `*.safetensors.index.fp16.json` for sharded ones (diffusers' `variant="fp16"`).
    case fp16
}

/// The weights chosen for a component: one safetensors file, or a shard index.
public struct ComponentWeightFiles: Sendable, Equatable {
    /// The `.safetensors` file, or the shard index (`.json`).
    public var url: URL
    public var variant: WeightVariant
    public var isSharded: Bool { url.pathExtension == "json" }

    /// The safetensors files to open: the file itself, or the index's shards (sorted).
    public func safetensorsFiles() throws -> [URL] {
        guard isSharded else { return [url] }
        let index = try ModelLoadError.converting { try WeightShardIndex(url: url) }
        return index.shardFileNames.map { index.shardURL($0) }
    }

    /// Base names: diffusers models (`diffusion_pytorch_model`) and transformers models (`model`).
    static let baseNames = ["diffusion_pytorch_model", "model"]

    /// The file names looked for, in order, for a preference: single files before shard indexes, the
    /// preferred precision before the other.
    public static func candidateFileNames(prefer variant: WeightVariant) -> [(name: String, variant: WeightVariant)] {
        func names(_ v: WeightVariant) -> [(String, WeightVariant)] {
            switch v {
            case .full:
                return baseNames.map { ("\($0).safetensors", v) } + baseNames.map { ("\($0).safetensors.index.json", v) }
            case .fp16:
                return baseNames.map { ("\($0).fp16.safetensors", v) } + baseNames.map { ("\($0).safetensors.index.fp16.json", v) }
            }
        }
        return variant == .full ? names(.full) + names(.fp16) : names(.fp16) + names(.full)
    }

    /// PyTorch pickle weights that diffusers/transformers may ship instead of safetensors.
    static let pickleFileNames = [
        "diffusion_pytorch_model.bin", "pytorch_model.bin", "diffusion_pytorch_model.fp16.bin", "pytorch_model.fp16.bin",
        "diffusion_pytorch_model.bin.index.json", "pytorch_model.bin.index.json",
    ]

    static func find(in component: ComponentFolder, prefer variant: WeightVariant) throws -> ComponentWeightFiles {
        let fm = FileManager.default
        let candidates = candidateFileNames(prefer: variant)
        for (name, v) in candidates {
            let url = component.url.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return ComponentWeightFiles(url: url, variant: v)
            }
        }
        let present = (try? fm.contentsOfDirectory(atPath: component.url.path)) ?? []
        let pickles = pickleFileNames.filter(present.contains)
            + present.filter { ($0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") || $0.hasSuffix(".pt") || $0.hasSuffix(".pth"))
                && !pickleFileNames.contains($0) }.sorted()
        if let pickle = pickles.first {
            let className = component.className ?? (try? component.config().className) ?? nil
            let library = component.library ?? (className?.hasPrefix("CLIP") == true ? "transformers" : "diffusers")
            let load = className.map { "from \(library) import \($0); \($0).from_pretrained(\"\(component.url.path)\")" }
                ?? "load the component with diffusers/transformers `from_pretrained(\"\(component.url.path)\")`"
            throw ModelLoadError(
                file: component.url.appendingPathComponent(pickle).path,
                message: "only PyTorch pickle weights (\(pickles.joined(separator: ", "))) in this folder; only safetensors weights are supported",
                hint: "convert them once with Python: `\(load).save_pretrained(\"\(component.url.path)\", safe_serialization=True)` "
                    + "(writes \(library == "transformers" ? "model.safetensors" : "diffusion_pytorch_model.safetensors"))")
        }
        throw ModelLoadError(
            file: component.url.path,
            message: "no safetensors weights: looked for \(candidates.map(\.name).joined(separator: ", ")) in this folder",
            hint: "the download is incomplete: get the component's .safetensors weights")
    }
}
