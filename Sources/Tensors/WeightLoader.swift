import Foundation

/// Named access to the tensors of one or more safetensors files, in diffusers' dotted key naming, in the
/// style of candle's `VarBuilder`:
///
///     let conv = weights.scoped("down_blocks").scoped(0).scoped("resnets").scoped(1).scoped("conv1")
///     let w = try conv.tensor("weight", shape: [320, 320, 3, 3])   // key down_blocks.0.resnets.1.conv1.weight
///
/// A loader is a prefix plus a shared reference to the opened files; `scoped` makes a new prefix over the
/// same files. Every key read is recorded (thread-safely), so after building a model `checkAllUsed()`
/// reports checkpoint keys the model never asked for: together with the missing-key and shape errors of
/// `tensor`, a model built from a loader fails at load, with the full key, on any missing, unexpected or
/// mis-shaped weight.
public struct WeightLoader: Sendable {
    /// The dotted prefix of this scope ("" at the root), without a trailing dot.
    public let prefix: String
    private let store: Store

    /// What the weights come from, for messages: the file's path, or the shard index's.
    public var source: String { store.source }
    /// The opened files (one, or the shards in name order).
    public var files: [SafeTensorsFile] { store.files }

    // MARK: - Opening

    /// Weights from already opened files. A key in two files is an error.
    public init(files: [SafeTensorsFile], source: String? = nil) throws {
        store = try Store(files: files, source: source ?? files.map(\.path).joined(separator: ", "))
        prefix = ""
    }

    public init(file: SafeTensorsFile) {
        store = try! Store(files: [file], source: file.path)  // one file cannot have duplicate keys
        prefix = ""
    }

    /// Weights from a `.safetensors` file, or from a shard index (a path ending in `.json`).
    public init(url: URL) throws {
        if url.pathExtension == "json" {
            try self.init(shardIndex: WeightShardIndex(url: url))
        } else {
            self.init(file: try SafeTensorsFile(url: url))
        }
    }

    /// Weights from the shards of an index. Every shard the index names must exist, and every key of the
    /// weight map must be in the shard the map names.
    public init(shardIndex index: WeightShardIndex) throws {
        var files: [String: SafeTensorsFile] = [:]
        for name in index.shardFileNames {
            let url = index.shardURL(name)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw WeightError(file: index.url.path, message: "the shard `\(name)` it names is missing (looked for \(url.path))",
                                  hint: "download all the shards of the checkpoint")
            }
            files[name] = try SafeTensorsFile(url: url)
        }
        for (key, shard) in index.weightMap where !files[shard]!.contains(key) {
            throw WeightError(file: index.url.path, key: key, message: "the weight map puts this key in `\(shard)`, which does not contain it",
                              hint: "the index and the shards are from different exports: re-download the checkpoint")
        }
        try self.init(files: index.shardFileNames.map { files[$0]! }, source: index.url.path)
    }

    /// A loader without files that makes up every tensor asked for with `tensor(_:shape:)`: for benchmarks
    /// that build a model of a given architecture without a checkpoint. Deterministic in `seed` and the key:
    /// matrices and kernels uniform in +-sqrt(3 / fan_in) (unit-variance outputs), 1-D `weight`s 1, biases 0.
    public static func synthetic(seed: UInt64 = 0) -> WeightLoader {
        WeightLoader(store: try! Store(files: [], source: "synthetic weights (seed \(seed))", syntheticSeed: seed), prefix: "")
    }

    private init(store: Store, prefix: String) {
        self.store = store
        self.prefix = prefix
    }

    // MARK: - Scopes

    /// The scope `prefix.name`. `name` may itself contain dots; an empty name is this scope.
    public func scoped(_ name: String) -> WeightLoader {
        name.isEmpty ? self : WeightLoader(store: store, prefix: key(name))
    }

    /// The scope `prefix.index` (module lists: `down_blocks.0`).
    public func scoped(_ index: Int) -> WeightLoader { scoped(String(index)) }

    /// The full key of `name` in this scope.
    public func key(_ name: String) -> String {
        prefix.isEmpty ? name : name.isEmpty ? prefix : prefix + "." + name
    }

    // MARK: - Reading

    public func contains(_ name: String) -> Bool { store.location[key(name)] != nil }

    /// dtype, shape and offsets of `name`, without reading it or marking it used.
    public func info(_ name: String) -> SafeTensorsTensorInfo? {
        store.location[key(name)].map { store.files[$0].info(key(name))! }
    }

    /// The file holding `name`.
    public func file(of name: String) -> SafeTensorsFile? { store.location[key(name)].map { store.files[$0] } }

    /// The tensor `name`, any shape, as fp32.
    public func tensor(_ name: String) throws -> Tensor {
        let full = key(name)
        guard let i = store.location[full] else { throw store.missing(full) }
        let t = try checkedFinite(store.files[i].tensor(full), key: full, file: store.files[i].path)
        store.markUsed(full)
        return store.deltas[full].map { t + $0 } ?? t
    }

    /// `t`, or an error naming the tensor when it holds NaN or infinite values (a damaged or diverged checkpoint
    /// would otherwise give NaN images or silently no detections).
    private func checkedFinite(_ t: Tensor, key: String, file: String) throws -> Tensor {
        guard let index = t.firstNonFiniteIndex else { return t }
        throw WeightError(file: file, key: key,
                          message: "holds \(t.nonFiniteCount) non-finite values (NaN or infinity; the first at element \(index), \(t.scalars[index]))",
                          hint: "the weights are damaged or the training diverged: use another checkpoint")
    }

    /// The tensor `name`, which must have exactly `shape`.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let full = key(name)
        if let seed = store.syntheticSeed { return Self.syntheticTensor(key: full, shape: shape, seed: seed) }
        guard let i = store.location[full] else { throw store.missing(full) }
        let found = store.files[i].info(full)!.shape
        guard found == shape else {
            throw WeightError(file: store.files[i].path, key: full, message: "shape mismatch: expected \(shape), found \(found)",
                              hint: "the checkpoint does not match the model configuration: check that config.json belongs to these weights")
        }
        let t = try checkedFinite(store.files[i].tensor(full), key: full, file: store.files[i].path)
        store.markUsed(full)
        return store.deltas[full].map { t + $0 } ?? t
    }

    /// The tensor `name` if the checkpoint has it (e.g. a bias that some exports omit), else nil.
    /// These weights with `deltas` added when they are read (LoRAs fused at load): keys relative to this loader's
    /// scope. Every delta must name a weight of the checkpoint and have its shape; `source` names the deltas' file
    /// in errors.
    public func adding(_ deltas: [String: Tensor], from source: String) throws -> WeightLoader {
        var full: [String: Tensor] = store.deltas
        for (name, delta) in deltas.sorted(by: { $0.key < $1.key }) {
            let k = key(name)
            guard let i = store.location[k] else {
                throw WeightError(file: source, key: name, message: "matches no weight of \(store.source)",
                                  hint: "the LoRA was made for another model or architecture")
            }
            let shape = store.files[i].info(k)!.shape
            guard shape == delta.shape else {
                throw WeightError(file: source, key: name, message: "changes a weight of shape \(shape) by one of shape \(delta.shape)",
                                  hint: "the LoRA was made for another model or architecture")
            }
            full[k] = full[k].map { $0 + delta } ?? delta
        }
        return WeightLoader(store: try Store(files: store.files, source: store.source, deltas: full), prefix: prefix)
    }

    public func optionalTensor(_ name: String) throws -> Tensor? {
        contains(name) ? try tensor(name) : nil
    }

    /// The tensor `name` with `shape` if the checkpoint has it, else nil; a present tensor of another shape is an error.
    public func optionalTensor(_ name: String, shape: [Int]) throws -> Tensor? {
        contains(name) ? try tensor(name, shape: shape) : nil
    }

    /// Records `name` as used without reading it: for checkpoint keys a model deliberately ignores
    /// (e.g. CLIP's `text_model.embeddings.position_ids`, an I64 buffer). Unknown names are ignored.
    public func markUsed(_ name: String) {
        let full = key(name)
        if store.location[full] != nil { store.markUsed(full) }
    }

    // MARK: - Key lists

    /// All keys under this scope, sorted.
    public var keys: [String] { store.keys(under: prefix) }

    /// The distinct next name components under this scope (`["0", "1", "2"]` for `down_blocks`), with
    /// numbers in numeric order before other names.
    public var childNames: [String] {
        let skip = prefix.isEmpty ? 0 : prefix.count + 1
        var seen = Set<String>()
        for k in keys {
            let rest = k.dropFirst(skip)
            seen.insert(String(rest.prefix { $0 != "." }))
        }
        return seen.sorted { a, b in
            switch (Int(a), Int(b)) {
            case let (x?, y?): return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a < b
            }
        }
    }

    /// Keys under this scope that no `tensor`/`optionalTensor`/`markUsed` call has read, sorted.
    public func unusedKeys() -> [String] { store.unused(under: prefix) }

    /// Throws an "unexpected keys" error listing up to 20 keys under this scope that were never used.
    public func checkAllUsed() throws {
        let unused = unusedKeys()
        guard !unused.isEmpty else { return }
        let many = store.files.count > 1
        var list = unused.prefix(20).map { k -> String in
            many ? "\(k) (in \(URL(fileURLWithPath: store.files[store.location[k]!].path).lastPathComponent))" : k
        }.joined(separator: ", ")
        if unused.count > 20 { list += ", ... and \(unused.count - 20) more" }
        throw WeightError(file: store.source, key: nil,
                          message: "\(unused.count) unexpected key\(unused.count == 1 ? "" : "s") not used by the model: \(list)",
                          hint: "the checkpoint does not match the model configuration (check config.json), "
                              + "or the weights belong to another component or architecture")
    }

    private static func syntheticTensor(key: String, shape: [Int], seed: UInt64) -> Tensor {
        let count = shape.reduce(1, *)
        if shape.count == 1 { return Tensor(repeating: key.hasSuffix("weight") ? 1 : 0, shape: shape) }
        let fanIn = Swift.max(1, count / Swift.max(1, shape[0]))
        let bound = Float((3.0 / Double(fanIn)).squareRoot())
        var state = seed ^ key.utf8.reduce(UInt64(0xcbf29ce484222325)) { ($0 ^ UInt64($1)) &* 0x100000001b3 }
        var scalars = [Float](repeating: 0, count: count)
        for i in 0..<count {
            state &+= 0x9E3779B97F4A7C15   // SplitMix64
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            z ^= z >> 31
            scalars[i] = (Float(z >> 40) / Float(1 << 24) * 2 - 1) * bound
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    // MARK: - Shared state

    // Unchecked: `used` is guarded by `lock`; everything else is immutable after init.
    private final class Store: @unchecked Sendable {
        let source: String
        let files: [SafeTensorsFile]
        /// Key -> index in `files`. Immutable after init.
        let location: [String: Int]
        /// All keys, sorted (immutable).
        let sortedKeys: [String]
        /// Set for `synthetic(seed:)` loaders.
        let syntheticSeed: UInt64?
        private let lock = NSLock()
        private var used: Set<String> = []

        /// Added to the named weights when they are read (fused LoRAs), by full key.
        let deltas: [String: Tensor]

        init(files: [SafeTensorsFile], source: String, syntheticSeed: UInt64? = nil, deltas: [String: Tensor] = [:]) throws {
            self.syntheticSeed = syntheticSeed
            self.deltas = deltas
            var location: [String: Int] = [:]
            for (i, file) in files.enumerated() {
                for name in file.names {
                    if let j = location[name] {
                        throw WeightError(file: source, key: name, message: "the key is in two files: \(files[j].path) and \(file.path)",
                                          hint: "the shards overlap: re-download the checkpoint")
                    }
                    location[name] = i
                }
            }
            self.source = source
            self.files = files
            self.location = location
            self.sortedKeys = location.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        }

        func markUsed(_ key: String) {
            lock.lock()
            used.insert(key)
            lock.unlock()
        }

        func keys(under prefix: String) -> [String] {
            if prefix.isEmpty { return sortedKeys }
            let p = prefix + "."
            return sortedKeys.filter { $0.hasPrefix(p) }
        }

        func unused(under prefix: String) -> [String] {
            lock.lock()
            defer { lock.unlock() }
            return keys(under: prefix).filter { !used.contains($0) }
        }

        /// A missing-key error whose hint shows the nearest existing keys.
        func missing(_ key: String) -> WeightError {
            var parts = key.split(separator: ".", omittingEmptySubsequences: false).dropLast()
            var hint = ""
            while !parts.isEmpty {
                let p = parts.joined(separator: ".") + "."
                let near = keys(under: String(p.dropLast()))
                if !near.isEmpty {
                    let shown = near.prefix(5).map { String($0.dropFirst(p.count)) }.joined(separator: ", ")
                    hint = "the checkpoint has \(near.count) key\(near.count == 1 ? "" : "s") under `\(p)`: \(shown)\(near.count > 5 ? ", ..." : ""). "
                    break
                }
                parts = parts.dropLast()
            }
            if hint.isEmpty {
                hint = "the checkpoint has no key starting with `\(key.split(separator: ".").first.map(String.init) ?? key).`. "
                if sortedKeys.contains(where: { $0.hasPrefix("model.diffusion_model.") || $0.hasPrefix("first_stage_model.") }) {
                    hint += "Its keys are in the original Stable Diffusion single-file layout; convert it to a diffusers folder "
                        + "(diffusers `from_single_file(...).save_pretrained(dir, safe_serialization=True)`). "
                }
            }
            hint += "Check that config.json belongs to these weights"
            return WeightError(file: source, key: key, message: "missing weight (\(sortedKeys.count) keys in the checkpoint)", hint: hint)
        }
    }
}
