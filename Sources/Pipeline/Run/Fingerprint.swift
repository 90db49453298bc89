import Foundation
import Datasets

/// What a run's outputs depend on, hashed: the resolved plan, the input files (annotations, in full) and the
/// model folders. `resume` refuses a run directory whose fingerprint no longer matches, and shows what changed.
/// (The image files' sizes and modification times are hashed when the source is loaded: `LoadSummary`.)
public struct Fingerprint: Codable, Equatable, Sendable {
    public var plan: String
    public var inputs: [String: String]
    public var models: [String: String]
    /// The compute kernels (`StageCatalog.kernelPath`). Not part of `differences`: a run resumed on another CPU
    /// goes on; `merge` compares it across shards.
    public var kernel: String?

    public static func compute(plan: ResolvedPlan, kernel: String? = nil) throws -> Fingerprint {
        var planHash = ContentHash()
        planHash.update(try plan.canonicalJSON())
        var inputs: [String: String] = [:]
        for file in plan.source.inputFiles + plan.stages.flatMap(\.config.inputFiles) where FileManager.default.fileExists(atPath: file) {
            inputs[file] = try ContentHash.ofFile(file)
        }
        var models: [String: String] = [:]
        for stage in plan.stages {
            for path in stage.config.dependencies where models[path] == nil { models[path] = modelHash(path) }
        }
        return Fingerprint(plan: planHash.hex, inputs: inputs, models: models, kernel: kernel)
    }

    /// A model folder's (or file's) fingerprint: every file's relative path, size and modification time, and
    /// the contents of its small files (configs, vocabularies). Weights are not read in full: gigabytes of SD
    /// weights would take longer to hash than a resume saves.
    public static func modelHash(_ path: String) -> String {
        var hash = ContentHash()
        let root = URL(fileURLWithPath: path)
        var files: [String] = []
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            let walker = FileManager.default.enumerator(atPath: path)
            while let name = walker?.nextObject() as? String { files.append(name) }
        } else {
            files = [""]
        }
        for name in files.sorted() {
            let file = name.isEmpty ? root.path : root.appendingPathComponent(name).path
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
                  attributes[.type] as? FileAttributeType == .typeRegular else { continue }
            let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
            hash.update(name)
            hash.update("\(size)")
            if size <= 1 << 20, let bytes = FileManager.default.contents(atPath: file) {
                hash.update([UInt8](bytes))
            } else {
                hash.update("\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)")
            }
        }
        return hash.hex
    }

    /// Hash of the given files' sizes and modification times.
    public static func imagesHash(paths: [String]) -> String {
        var hash = ContentHash()
        for path in paths {
            hash.update(path)
            if let attributes = try? FileManager.default.attributesOfItem(atPath: path) {
                hash.update("\((attributes[.size] as? NSNumber)?.int64Value ?? -1)")
                hash.update("\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)")
            } else {
                hash.update("missing")
            }
        }
        return hash.hex
    }

    /// "size:modification time" of each file ("missing" when absent), in order: what `imagesHash` hashes, kept so
    /// that a refused resume can name the files that changed.
    public static func fileSignatures(_ paths: [String]) -> [String] {
        paths.map { path in
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
            return "\((attributes[.size] as? NSNumber)?.int64Value ?? -1):\((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)"
        }
    }

    /// Human-readable differences, empty when nothing that matters changed.
    public func differences(from stored: Fingerprint) -> [String] {
        var out: [String] = []
        if plan != stored.plan { out.append("the pipeline (resolved plan) changed") }
        for file in Set(inputs.keys).union(stored.inputs.keys).sorted() where inputs[file] != stored.inputs[file] {
            switch (stored.inputs[file], inputs[file]) {
            case (nil, _): out.append("\(file) is new")
            case (_, nil): out.append("\(file) is gone")
            default: out.append("\(file) changed")
            }
        }
        for model in Set(models.keys).union(stored.models.keys).sorted() where models[model] != stored.models[model] {
            out.append("model weights \(model) changed")
        }
        return out
    }
}
