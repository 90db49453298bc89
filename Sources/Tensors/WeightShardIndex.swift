import Foundation
import Support

/// The index of a sharded checkpoint (`diffusion_pytorch_model.safetensors.index.json`,
/// `model.safetensors.index.json`, or a variant such as `model.safetensors.index.fp16.json`):
/// `{"metadata": {"total_size": N}, "weight_map": {"key": "shard-00001-of-00002.safetensors", ...}}`.
/// Shard names must be plain file names in the index's directory.
public struct WeightShardIndex: Sendable, Equatable {
    public var url: URL
    /// Tensor key -> shard file name.
    public var weightMap: [String: String]
    /// `metadata.total_size` when present.
    public var totalSize: Int?

    /// The shard file names, sorted.
    public var shardFileNames: [String] { Array(Set(weightMap.values)).sorted() }

    public func shardURL(_ fileName: String) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(fileName)
    }

    public init(url: URL, weightMap: [String: String], totalSize: Int? = nil) {
        self.url = url
        self.weightMap = weightMap
        self.totalSize = totalSize
    }

    public init(url: URL) throws {
        let path = url.path
        let hint = "re-download the checkpoint, or re-save it with `save_pretrained(..., safe_serialization=True)`"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightError(file: path, message: FileManager.default.fileExists(atPath: path) ? "cannot read the shard index" : "shard index not found",
                              hint: "check the path")
        }
        let root: JSONValue
        switch JSONValue.parse(data) {
        case .success(let v): root = v
        case .failure(let f): throw WeightError(file: path, message: "the shard index is not valid JSON: \(f.reason)", hint: hint)
        }
        guard case .object(let top) = root else {
            throw WeightError(file: path, message: "the shard index is \(root.typeName), not a JSON object", hint: hint)
        }
        guard case .object(let map)? = top["weight_map"] else {
            throw WeightError(file: path, key: "weight_map", message: "the shard index has no `weight_map` object", hint: hint)
        }
        var weightMap: [String: String] = [:]
        for (key, value) in map {
            guard case .string(let file) = value else {
                throw WeightError(file: path, key: key, message: "the weight_map entry is \(value.typeName), not a shard file name", hint: hint)
            }
            guard !file.isEmpty, !file.contains("/"), !file.contains("\\"), file != ".", file != ".." else {
                throw WeightError(file: path, key: key, message: "the shard name `\(file)` is not a plain file name",
                                  hint: "shards must lie next to the index; \(hint)")
            }
            weightMap[key] = file
        }
        var totalSize: Int? = nil
        if case .object(let meta)? = top["metadata"], case .int(let n)? = meta["total_size"] { totalSize = n }
        self.init(url: url, weightMap: weightMap, totalSize: totalSize)
    }
}
