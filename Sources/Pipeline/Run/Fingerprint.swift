import Foundation
import Stages

/// What a run's outputs depend on, hashed: the resolved plan, the annotation files, the image files (size
/// and modification time), and (once the engine lands) the model weights. `resume` refuses a run
/// directory whose fingerprint no longer matches, and shows what changed.
public struct Fingerprint: Codable, Equatable, Sendable {
    public var plan: String
    public var inputs: [String: String]
    public var images: String?
    public var models: [String: String]

    public static func compute(plan: ResolvedPlan) throws -> Fingerprint {
        var planHash = ContentHash()
        planHash.update(try plan.canonicalJSON())
        var inputs: [String: String] = [:]
        for file in plan.source.annotationFiles where FileManager.default.fileExists(atPath: file) {
            inputs[file] = try ContentHash.ofFile(file)
        }
        return Fingerprint(plan: planHash.hex, inputs: inputs, images: nil, models: [:])
    }

    /// The per-item files whose size and modification time are hashed: the images, and for VOC each image's
    /// annotation XML (`YEAR/JPEGImages/x.jpg` -> `YEAR/Annotations/x.xml`).
    public static func itemFiles(_ items: [DatasetItem], source: SourceConfig) -> [String] {
        guard source.format == .voc, let devkit = source.devkit else { return items.map(\.sourcePath) }
        return items.flatMap { item -> [String] in
            let parts = item.image.fileName.split(separator: "/")
            guard parts.count == 3 else { return [item.sourcePath] }
            let stem = URL(fileURLWithPath: String(parts[2])).deletingPathExtension().lastPathComponent
            return [item.sourcePath, "\(devkit)/\(parts[0])/Annotations/\(stem).xml"]
        }
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
        if let a = images, let b = stored.images, a != b { out.append("image files changed (size or modification time)") }
        for model in Set(models.keys).union(stored.models.keys).sorted() where models[model] != stored.models[model] {
            out.append("model weights \(model) changed")
        }
        return out
    }
}
