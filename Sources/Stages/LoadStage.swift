import Foundation
import Datasets
import Pipeline

/// Where a pipeline's reference images come from.
public struct SourceConfig: ShardableSourceConfig, Equatable {
    public enum Format: String, ConfigEnum { case coco, voc }

    public var format: Format
    /// A short name for statistics tables ("COCO", "VOC"); outputs add "-DE" or the write stage's name.
    public var name: String
    // COCO
    public var instances: String?
    public var captions: String?
    public var images: String?
    // VOC
    public var devkit: String?
    public var splits: [String]?
    public var classes: [String]?
    /// Take only the first N images (in file order): for trial runs.
    public var limit: Int?
    /// Scale-out: `"i/n"` keeps the images whose position in the file is i modulo n, so n machines each run one
    /// shard of the same pipeline (generated ids derive from reference ids, so the outputs never collide).
    public var shard: String?

    enum CodingKeys: String, CodingKey { case format, name, instances, captions, images, devkit, splits, classes, limit, shard }

    public func sharded(_ shard: ShardSpec) -> SourceConfig {
        var copy = self
        copy.shard = shard.description
        return copy
    }

    /// The parsed `shard` (index, count), nil when not set.
    public var shardParts: (index: Int, count: Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else { return nil }
        return (i, n)
    }

    public init(format: Format, name: String? = nil, instances: String? = nil, captions: String? = nil, images: String? = nil,
                devkit: String? = nil, splits: [String]? = nil, classes: [String]? = nil, limit: Int? = nil) {
        self.format = format
        self.name = name ?? format.rawValue.uppercased()
        self.instances = instances
        self.captions = captions
        self.images = images
        self.devkit = devkit
        self.splits = splits
        self.classes = classes
        self.limit = limit
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(Format.self, forKey: .format)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? format.rawValue.uppercased()
        instances = try c.decodeIfPresent(String.self, forKey: .instances)
        captions = try c.decodeIfPresent(String.self, forKey: .captions)
        images = try c.decodeIfPresent(String.self, forKey: .images)
        devkit = try c.decodeIfPresent(String.self, forKey: .devkit)
        splits = try c.decodeIfPresent([String].self, forKey: .splits)
        classes = try c.decodeIfPresent([String].self, forKey: .classes)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        shard = try c.decodeIfPresent(String.self, forKey: .shard)
        func wrong(_ key: CodingKeys, _ why: String) -> DecodingError {
            DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: why)
        }
        switch format {
        case .coco:
            if instances == nil { throw wrong(.instances, "format coco needs `instances` (the instances JSON) and `images` (the image folder)") }
            if images == nil { throw wrong(.images, "format coco needs `images`: the folder the file names in the instances JSON are relative to") }
            if devkit != nil || splits != nil || classes != nil { throw wrong(.devkit, "`devkit`, `splits` and `classes` belong to format voc") }
        case .voc:
            if devkit == nil { throw wrong(.devkit, "format voc needs `devkit`: the VOCdevkit folder") }
            if instances != nil || captions != nil || images != nil { throw wrong(.instances, "`instances`, `captions` and `images` belong to format coco") }
            if splits == nil { splits = ["VOC2007/trainval"] }
            if classes == nil { classes = VOCReader.defaultClasses }
        }
        if let limit, limit <= 0 { throw wrong(.limit, "limit must be a positive number of images") }
        if shard != nil && shardParts == nil { throw wrong(.shard, "shard is \"i/n\" with 0 <= i < n, e.g. \"0/16\" for the first of 16 machines") }
    }

    /// The same config with relative paths made absolute against `base` (the pipeline file's folder).
    public func resolvingPaths(against base: URL) -> SourceConfig {
        func abs(_ p: String?) -> String? { p.map { absolutePath($0, base: base) } }
        var copy = self
        copy.instances = abs(instances)
        copy.captions = abs(captions)
        copy.images = abs(images)
        copy.devkit = abs(devkit)
        return copy
    }

    /// The files whose content decides what is loaded (hashed into the run's fingerprint).
    public var inputFiles: [String] {
        switch format {
        case .coco: return [instances, captions].compactMap { $0 }
        case .voc: return (splits ?? []).map { split in
            let parts = split.split(separator: "/", maxSplits: 1).map(String.init)
            return parts.count == 2 ? "\(devkit!)/\(parts[0])/ImageSets/Main/\(parts[1]).txt" : "\(devkit!)/\(split)"
        }
        }
    }
}

/// The first stage of every pipeline: reads a COCO or VOC dataset into items. Images whose file is
/// missing are dropped and counted here, so later stages only see readable paths.
public final class LoadStage: SourceStage {
    public let config: SourceConfig

    public init(config: SourceConfig) { self.config = config }

    /// The source kind of the built-in catalog: the pipeline's `source:` block.
    public static let kind = StageKind.typed(ResolvedPlan.sourceId, summary: "read a COCO or VOC dataset (the pipeline's `source:` block)",
                                             config: SourceConfig.self, make: { LoadStage(config: $0) })

    public func load(context: StageContext) throws -> SourceOutput { try Self.load(config) }

    /// The images, and for VOC each image's annotation XML (`YEAR/JPEGImages/x.jpg` -> `YEAR/Annotations/x.xml`).
    public func itemFiles(_ items: [DatasetItem]) -> [String] {
        guard config.format == .voc, let devkit = config.devkit else { return items.map(\.sourcePath) }
        return items.flatMap { item -> [String] in
            let parts = item.image.fileName.split(separator: "/")
            guard parts.count == 3 else { return [item.sourcePath] }
            let stem = URL(fileURLWithPath: String(parts[2])).deletingPathExtension().lastPathComponent
            return [item.sourcePath, "\(devkit)/\(parts[0])/Annotations/\(stem).xml"]
        }
    }

    public static func load(_ config: SourceConfig) throws -> SourceOutput {
        let dataset: DetectionDataset
        let imageRoot: String
        switch config.format {
        case .coco:
            try requireFile(config.instances!, what: "the COCO instances JSON")
            if let captions = config.captions { try requireFile(captions, what: "the COCO captions JSON") }
            try requireDirectory(config.images!, what: "the COCO image folder")
            dataset = try COCOReader.load(instances: URL(fileURLWithPath: config.instances!),
                                          captions: config.captions.map { URL(fileURLWithPath: $0) })
            imageRoot = config.images!
        case .voc:
            try requireDirectory(config.devkit!, what: "the VOCdevkit folder")
            dataset = try VOCReader.load(devkit: URL(fileURLWithPath: config.devkit!), splits: config.splits ?? [],
                                         classes: config.classes ?? VOCReader.defaultClasses)
            imageRoot = config.devkit!
        }
        return items(of: dataset, config: config, imageRoot: imageRoot)
    }

    /// The items of a loaded dataset: `limit`, then the shard, then images whose file is missing dropped.
    public static func items(of dataset: DetectionDataset, config: SourceConfig, imageRoot: String) -> SourceOutput {
        var images = dataset.images
        // limit first, then the shard: a limited pipeline's shards together are its unsharded run.
        if let limit = config.limit, images.count > limit { images = Array(images.prefix(limit)) }
        var imagePositions: [Int]?
        if let (index, count) = config.shardParts {
            imagePositions = Array(stride(from: index, to: images.count, by: count))
            images = imagePositions!.map { images[$0] }
        }
        let boxes = dataset.annotationsByImage()
        let captions = dataset.captionsByImage()
        var items: [DatasetItem] = []
        var issues = dataset.issues
        var dropped: [DroppedItem] = []
        items.reserveCapacity(images.count)
        let fm = FileManager.default
        let sourceFile = config.format == .coco ? config.instances! : config.devkit!
        var positions: [Int] = []
        for (k, image) in images.enumerated() {
            let path = imageRoot + "/" + image.fileName
            guard fm.fileExists(atPath: path) else {
                issues.append(LoadIssue(kind: .missingImage, file: path, record: "image \(image.id)",
                                        message: "the image file is missing; the image is skipped"))
                dropped.append(DroppedItem(imageId: image.id, fileName: image.fileName, reason: "missing-image",
                                           message: "\(path) does not exist (named in \(sourceFile))"))
                continue
            }
            items.append(DatasetItem(image: image, sourcePath: path, annotations: boxes[image.id] ?? [],
                                     captions: (captions[image.id] ?? []).map(\.text)))
            if let imagePositions { positions.append(imagePositions[k]) }
        }
        let meta = DatasetMeta(name: config.name, categories: dataset.categories, info: dataset.info, licenses: dataset.licenses)
        return SourceOutput(meta: meta, items: items, issues: issues, dropped: dropped, positions: imagePositions == nil ? nil : positions)
    }

    static func requireFile(_ path: String, what: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw StageError(stage: "load", message: "\(what) is missing: \(path)",
                             hint: "check the path in the pipeline's `source` (relative paths are relative to the pipeline file); data/README.md says where datasets go")
        }
    }

    static func requireDirectory(_ path: String, what: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw StageError(stage: "load", message: "\(what) is missing: \(path)",
                             hint: "check the path in the pipeline's `source` (relative paths are relative to the pipeline file); data/README.md says where datasets go")
        }
    }
}
