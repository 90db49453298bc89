import Foundation
import Yams

/// One entry of a pipeline's `stages:` list: `id`, `kind`, optional `input`, and the kind's own keys.
public struct StageEntry: Encodable, Sendable {
    public var id: String
    public var kind: String
    /// The `id` of the stage this one reads from; nil = the previous stage (or the source, for the first).
    public var input: String?
    public var config: any StageConfig
    /// The catalog entry of `kind`.
    public var stageKind: StageKind
    /// Where the entry is in the pipeline file, for error messages.
    public var line: Int?

    enum CodingKeys: String, CodingKey { case id, kind, input, config }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(input, forKey: .input)
        try config.encode(to: c.superEncoder(forKey: .config))
    }
}

/// A pipeline file as written by the user, decoded strictly. See pipelines/README.md for every key.
public struct PipelineFile: Sendable {
    public var name: String
    public var seed: UInt64
    public var batchSize: Int
    /// The `source:` block, decoded by the catalog's source kind.
    public var source: any StageConfig
    public var sourceKind: StageKind
    public var stages: [StageEntry]

    public static let defaultBatchSize = 32

    /// Reads and checks a pipeline file; relative paths in it are taken relative to its folder. `catalog` has
    /// the stage kinds it may name.
    public static func load(path: String, catalog: StageCatalog) throws -> PipelineFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, message: "cannot read the pipeline file", hint: "check the path; examples are in pipelines/")
        }
        let text = String(decoding: data, as: UTF8.self)
        let defaultName = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try parse(text, file: path, defaultName: defaultName, catalog: catalog)
    }

    public static func parse(_ text: String, file: String, defaultName: String, catalog: StageCatalog) throws -> PipelineFile {
        let decoder = StrictYAMLDecoder(file: file)
        let node = try decoder.compose(text)
        let raw = try decoder.decode(RawPipeline.self, from: node, userInfo: [.stageCatalog: catalog])
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let base = URL(fileURLWithPath: absolute).standardized.deletingLastPathComponent()
        var seenIds: [String: Int?] = [:]
        for (index, entry) in raw.stages.enumerated() {
            if let line = seenIds[entry.id] {
                throw ConfigError(file: file, line: entry.line, message: "stage id `\(entry.id)` is used twice (also at line \(line.map(String.init) ?? "?"))",
                                  hint: "give each stage a unique `id`")
            }
            if let input = entry.input {
                guard seenIds[input] != nil else {
                    let earlier = raw.stages.prefix(index).map(\.id)
                    throw ConfigError(file: file, line: entry.line, message: "stage `\(entry.id)` reads from `\(input)`, which is not an earlier stage",
                                      hint: earlier.isEmpty ? "the first stage reads from the source; remove `input`"
                                          : "earlier stages: \(earlier.joined(separator: ", "))" + (nearest(input, in: earlier).map { "; did you mean `\($0)`?" } ?? ""))
                }
                if raw.stages.first(where: { $0.id == input })?.stageKind.isSink == true {
                    throw ConfigError(file: file, line: entry.line, message: "stage `\(entry.id)` reads from `\(input)`, a write stage, which passes nothing on",
                                      hint: "read from the stage before it instead")
                }
            } else if index > 0, raw.stages[index - 1].stageKind.isSink {
                throw ConfigError(file: file, line: entry.line, message: "stage `\(entry.id)` follows a write stage, which passes nothing on",
                                  hint: "add `input: <id>` naming the stage it should read from")
            }
            seenIds[entry.id] = entry.line
        }
        guard !raw.stages.isEmpty else {
            throw ConfigError(file: file, message: "the pipeline has no stages", hint: "add at least a `write` stage; see pipelines/README.md")
        }
        var stages: [StageEntry] = []
        for entry in raw.stages {
            var resolved = entry
            resolved.config = entry.config.resolvingPaths(against: base)
            do {
                resolved.config = try resolved.config.linking(earlier: stages.map { ($0.id, $0.config) })
            } catch {
                throw ConfigError(file: file, line: entry.line, message: "stage `\(entry.id)`: \(error)", hint: "see pipelines/README.md")
            }
            stages.append(resolved)
        }
        return PipelineFile(name: raw.name ?? defaultName, seed: raw.seed ?? 0, batchSize: raw.batchSize ?? defaultBatchSize,
                            source: raw.source.resolvingPaths(against: base), sourceKind: catalog.source, stages: stages)
    }
}

/// The top level of the file, as decoded.
struct RawPipeline: Decodable {
    var name: String?
    var seed: UInt64?
    var batchSize: Int?
    var source: any StageConfig
    var stages: [StageEntry]

    enum CodingKeys: String, CodingKey { case name, seed, batchSize = "batch_size", source, stages }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        if let b = batchSize, b < 1 {
            throw DecodingError.dataCorruptedError(forKey: .batchSize, in: c, debugDescription: "batch_size must be at least 1")
        }
        source = try Self.catalog(decoder).source.decodeConfig(try c.superDecoder(forKey: .source))
        stages = try c.decode([StageEntry].self, forKey: .stages)
    }
}

extension CodingUserInfoKey {
    /// The `StageCatalog` a pipeline file is decoded with.
    static let stageCatalog = CodingUserInfoKey(rawValue: "dataengine.stageCatalog")!
}

extension RawPipeline {
    static func catalog(_ decoder: Decoder) throws -> StageCatalog {
        guard let catalog = decoder.userInfo[.stageCatalog] as? StageCatalog else {
            throw PipelineError(message: "a pipeline file was decoded without a stage catalog", hint: "this is a bug: decode it with PipelineFile.parse")
        }
        return catalog
    }
}

extension StageEntry: Decodable {
    enum EntryKeys: String, CodingKey { case id, kind, input }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: EntryKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? kind
        input = try c.decodeIfPresent(String.self, forKey: .input)
        line = (decoder as? NodeDecoder)?.node.mark?.line
        let catalog = try RawPipeline.catalog(decoder)
        guard let stageKind = catalog.kind(named: kind) else {
            let names = catalog.names
            let near = nearest(kind, in: names).map { "did you mean `\($0)`? " } ?? ""
            let context = decoder as? NodeDecoder
            throw ConfigError(file: context?.context.file ?? "pipeline", line: line,
                              message: "unknown stage kind `\(kind)`",
                              hint: near + "stage kinds: " + names.joined(separator: ", "))
        }
        config = try stageKind.decodeConfig(decoder)
        self.stageKind = stageKind
    }
}
