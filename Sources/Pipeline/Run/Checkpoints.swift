import Foundation
import Datasets
import Support

/// Committed units, one zstd-compressed JSON file each, written atomically: a unit is committed exactly
/// when its file exists. Encoding is canonical (sorted keys), so the same result gives the same bytes.
public struct Checkpoints: Sendable {
    public let root: URL
    /// The run directory: paths inside it are stored relative to it (`RunRelativePath`), so a moved run resumes.
    public let runRoot: String?

    public init(root: URL, runRoot: String? = nil) {
        self.root = root
        self.runRoot = runRoot
    }

    public func file(stage: String, unit: String) -> URL {
        root.appendingPathComponent(stage).appendingPathComponent(unit + ".json.zst")
    }

    public static func batchName(_ index: Int) -> String { String(format: "batch-%05d", index) }

    public func isCommitted(stage: String, unit: String) -> Bool {
        FileManager.default.fileExists(atPath: file(stage: stage, unit: unit).path)
    }

    public func save<T: Encodable>(_ value: T, stage: String, unit: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let runRoot { encoder.userInfo[.runRoot] = runRoot }
        let json = try encoder.encode(value)
        try AtomicFile.write(try Zstd.compress([UInt8](json)), to: file(stage: stage, unit: unit))
    }

    public func load<T: Decodable>(_ type: T.Type, stage: String, unit: String) throws -> T {
        let url = file(stage: stage, unit: unit)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw PipelineError(message: "checkpoint \(url.path) is missing", hint: "the run directory is damaged; start a new run")
        }
        do {
            let json = try Zstd.decompress([UInt8](data))
            if let fast = Self.fastDecode(T.self, json, runRoot: runRoot) { return fast }
            let decoder = JSONDecoder()
            if let runRoot { decoder.userInfo[.runRoot] = runRoot }
            return try decoder.decode(T.self, from: Data(json))
        } catch {
            throw PipelineError(message: "checkpoint \(url.path) cannot be read: \(error)",
                                hint: "delete that file and resume to redo its unit, or start a new run")
        }
    }
}

extension Checkpoints {
    /// Unit outputs through `CheckpointDecoder` (nil: not such a type, or declined; `JSONDecoder` reads it).
    static func fastDecode<T>(_ type: T.Type, _ json: [UInt8], runRoot: String?) -> T? {
        if T.self == UnitRecord.self { return CheckpointDecoder.unitRecord(json, runRoot: runRoot) as? T }
        if T.self == UnitOutput.self { return CheckpointDecoder.unitOutput(json, runRoot: runRoot) as? T }
        return nil
    }
}

/// What the load step commits last, after all its batches: the dataset's description and counts.
public struct LoadSummary: Codable, Sendable {
    public var meta: DatasetMeta
    public var batches: Int
    public var items: Int
    public var issues: [LoadIssue]
    public var dropped: [DroppedItem]
    /// Hash of the image files' sizes and modification times (content hashing 18 GB of COCO is too slow).
    public var imagesHash: String
    /// A shard's run: each item's position in the unsharded source (`SourceOutput.positions`); nil otherwise.
    public var positions: [Int]?
}

/// What one committed unit of a fused chain holds: every stage's result (only the last keeps its items).
public struct UnitRecord: Codable, Sendable {
    public var outputs: [String: UnitOutput]
}
