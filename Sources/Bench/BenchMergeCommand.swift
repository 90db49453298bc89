import ArgumentParser
import Datasets
import Foundation
import Logging
import Pipeline
import Stages
import Support

/// `dataengine bench merge`: `dataengine merge` at COCO train2017 scale, against one load of the merged file.
struct BenchMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Measure dataengine merge at train2017 scale against DataEngine's own load of the merged file.",
        discussion: """
        Generates the synthetic train2017-scale instances file of `bench load` (118,287 images, 860,001 \
        annotations), runs a load -> write pipeline on it as --shards shards (the real runner and checkpoints; the \
        writer is the real COCO writer except that it writes no image files: images excluded), then times `merge` \
        of the run root (checks, ordering, splicing the merged instances file and statistics from the shards' \
        files and splice parts) and COCOReader's load of the merged instances file, in this process, one after the other. \
        Prints both, their ratio and the peak memory. With --image-files the writer writes an empty file per \
        image and the merge hard-links them, as a real merge does.

        Examples:
          dataengine bench merge
          dataengine bench merge --images 5000 --annotations 36000 --shards 10
          dataengine bench merge --image-files
        """)

    @Option(help: "Images in the generated source.")
    var images = 118_287

    @Option(help: "Annotations in the generated source.")
    var annotations = 860_001

    @Option(help: "Shards the run is split into.")
    var shards = 100

    @Option(help: "Items per unit (coco-de.yaml's batch_size).")
    var batchSize = 8

    @Option(help: ArgumentHelp("Work in this directory and keep it (default: a temporary one, removed).", valueName: "dir"))
    var keep: String?

    @Flag(help: "With --keep: merge the run root an earlier run kept there again, without generating it (profiling the merge; the kept run's shard count and batch size are reported, --images, --annotations, --shards and --batch-size are not read).")
    var reuse = false

    @Flag(help: "Write an empty file per image and hard-link them in the merge (default: images excluded).")
    var imageFiles = false

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func validate() throws {
        guard images >= 1, annotations >= 0, shards >= 1, batchSize >= 1 else {
            throw ValidationError("--images, --shards and --batch-size must be at least 1, --annotations not negative")
        }
        guard !reuse || keep != nil else { throw ValidationError("--reuse needs --keep DIR (the folder an earlier run kept)") }
    }

    struct Result: Codable {
        var images: Int
        var annotations: Int
        var shards: Int
        var batchSize: Int
        var imageFiles: Bool
        var setupSeconds: Double
        var mergeSeconds: Double
        var loadSeconds: Double
        var mergeOverLoad: Double
        var mergedFileBytes: Int
        var peakRSSBytes: Int

        enum CodingKeys: String, CodingKey {
            case images, annotations, shards
            case batchSize = "batch_size", imageFiles = "image_files", setupSeconds = "setup_seconds", mergeSeconds = "merge_seconds", loadSeconds = "load_seconds"
            case mergeOverLoad = "merge_over_load", mergedFileBytes = "merged_file_bytes", peakRSSBytes = "peak_rss_bytes"
        }
    }

    func run() throws {
        let dir = keep.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory.appendingPathComponent("dataengine-bench-merge-\(getpid())")
        defer { if keep == nil { try? FileManager.default.removeItem(at: dir) } }
        func say(_ text: String) { if !json { FileHandle.standardError.write(Data((text + "\n").utf8)) } }
        let setupStart = Date()
        let instances = dir.appendingPathComponent("instances_synthetic.json")
        let root = dir.appendingPathComponent("root")
        AnnotationsOnlyWriter.writesImageFiles.set(imageFiles)
        defer { AnnotationsOnlyWriter.writesImageFiles.set(nil) }
        let sourceImages: Int
        if reuse {
            say("merging the run root kept in \(root.path) again")
            sourceImages = try COCOReader.load(instances: instances).images.count
        } else {
            sourceImages = try makeRunRoot(dir: dir, instances: instances, root: root, say: say)
        }
        let setupSeconds = Date().timeIntervalSince(setupStart)

        let out = dir.appendingPathComponent("merged")
        say("merging \(shards) shards...")
        var start = DispatchTime.now().uptimeNanoseconds
        let summary = try ShardMerge.run(runRoot: root, out: out, catalog: Self.catalog)
        let mergeSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let merged = out.appendingPathComponent("coco/annotations/instances_coco.json")
        start = DispatchTime.now().uptimeNanoseconds
        let loaded = try COCOReader.load(instances: merged)
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        guard loaded.images.count == summary.outputs["coco"]?.images, loaded.images.count == sourceImages else {
            throw ValidationError("the merged file holds \(loaded.images.count) images; the source \(sourceImages)")
        }
        let bytes = (try? FileManager.default.attributesOfItem(atPath: merged.path)[.size] as? Int) ?? 0
        let batchSize = reuse ? try keptBatchSize(root: root) : self.batchSize
        let result = Result(images: loaded.images.count, annotations: loaded.annotations.count, shards: summary.shards, batchSize: batchSize, imageFiles: imageFiles,
                            setupSeconds: setupSeconds, mergeSeconds: mergeSeconds, loadSeconds: loadSeconds,
                            mergeOverLoad: mergeSeconds / loadSeconds, mergedFileBytes: bytes, peakRSSBytes: ProcessMemory.peakResident ?? 0)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print("merged:    \(result.images) images, \(result.annotations) annotations from \(result.shards) shards of batches of \(batchSize) (setup \(String(format: "%.0f", setupSeconds)) s)")
            print("images:    " + (imageFiles ? "an empty file per image, hard-linked by the merge" : "excluded (no image files)"))
            print(String(format: "merge:     %.2f s", mergeSeconds) + " (" + summary.phases.map { "\($0.name) " + String(format: "%.1f s", $0.seconds) }.joined(separator: ", ") + ")")
            print(String(format: "load:      %.2f s (COCOReader, the merged %@)", loadSeconds, ProcessMemory.format(bytes)))
            print(String(format: "ratio:     merge / load = %.2f", result.mergeOverLoad))
            print("peak RSS:  \(ProcessMemory.format(result.peakRSSBytes)) (the whole process, setup included)")
        }
    }

    /// The batch size of the run kept in `root` (its first shard's plan).
    func keptBatchSize(root: URL) throws -> Int {
        guard let plan = try ShardInventory(root: root, catalog: Self.catalog).shards.first?.plan else {
            throw ValidationError("\(root.path) holds no readable shard plan: run `bench merge --keep DIR` without --reuse first")
        }
        return plan.batchSize
    }

    /// Generates the source and runs it as `shards` shards into `root`; returns the source's image count.
    func makeRunRoot(dir: URL, instances: URL, root: URL, say: (String) -> Void) throws -> Int {
        let imageFolder = dir.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: imageFolder, withIntermediateDirectories: true)
        say("generating \(images) images, \(annotations) annotations -> \(instances.path)")
        _ = try SyntheticCOCO.write(SyntheticCOCO.Parameters(images: images, annotations: annotations, seed: 2017), to: instances)
        let source = try COCOReader.load(instances: instances)
        for image in source.images {  // the source's files exist either way (the load checks them)
            let path = imageFolder.appendingPathComponent(image.fileName).path
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw AtomicFile.WriteError(path: path, operation: "create", code: errno) }
        }
        BenchMergeSource.dataset.set(source)
        let pipeline = dir.appendingPathComponent("bench-merge.yaml")
        try """
            name: bench-merge
            seed: 0
            batch_size: \(batchSize)
            source:
              format: coco
              instances: \(instances.path)
              images: \(imageFolder.path)
            stages:
              - id: coco
                kind: write
            """.write(to: pipeline, atomically: true, encoding: .utf8)
        let plan = ResolvedPlan(try PipelineFile.load(path: pipeline.path, catalog: Self.catalog))
        let logger = Logger(label: "bench-merge", factory: { _ in SwiftLogNoOpLogHandler() })
        for index in 0..<shards {
            let shard = try ShardSpec(index: index, count: shards)
            try ShardRoot(count: shards, plan: plan).register(at: root)
            _ = try PipelineRun.start(pipelinePath: pipeline.path, catalog: Self.catalog, shard: shard,
                                      runDirectory: root.appendingPathComponent(shard.directoryName), logger: logger,
                                      options: PipelineRun.Options(workers: AvailableCPUs.current.count))
            if (index + 1) % 10 == 0 || index + 1 == shards { say("ran shard \(index + 1)/\(shards)") }
        }
        BenchMergeSource.dataset.set(nil)
        return source.images.count

    }

    /// The built-in write kind without image bytes, and a source that loads the generated file once.
    static let catalog = StageCatalog(
        source: .typed(ResolvedPlan.sourceId, summary: "the generated COCO file, loaded once", config: SourceConfig.self,
                       make: { BenchMergeSource(config: $0) }),
        kinds: [.typed("write", summary: "the COCO writer without image bytes", isSink: true, config: WriteConfig.self,
                       make: { AnnotationsOnlyWriter(WriteStage(config: $0)) })])
}

/// The load stage on a dataset loaded once for all shards (loading 450 MB a hundred times would be the setup).
final class BenchMergeSource: SourceStage {
    let config: SourceConfig
    static let dataset = Shared<DetectionDataset>()

    init(config: SourceConfig) { self.config = config }

    func load(context: StageContext) throws -> SourceOutput {
        guard let dataset = Self.dataset.get() else { return try LoadStage.load(config) }
        return LoadStage.items(of: dataset, config: config, imageRoot: config.images ?? "")
    }

    func itemFiles(_ items: [DatasetItem]) -> [String] { items.map(\.sourcePath) }
}

/// A value shared by the bench's stages.
final class Shared<Value>: @unchecked Sendable {  // Unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var value: Value?
    func get() -> Value? { lock.withLock { value } }
    func set(_ new: Value?) { lock.withLock { value = new } }
}

/// `WriteStage` without image bytes: an empty file per image (`--image-files`) or none; no JPEG is read or copied.
/// Placing units in the merge and finalizing are the writer's own.
final class AnnotationsOnlyWriter: SplicingSink {
    let writer: WriteStage
    static let writesImageFiles = Shared<Bool>()
    var imageFiles: Bool { Self.writesImageFiles.get() ?? true }

    init(_ writer: WriteStage) { self.writer = writer }

    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        let root = try writer.outputRoot(context)
        var out = UnitOutput()
        for var item in input.items {
            let name = URL(fileURLWithPath: item.image.fileName).lastPathComponent
            let (relative, destination) = writer.place(name, unit: context.unitIndex, root: root)
            if imageFiles {
                try AtomicFile.makeDirectories(destination.deletingLastPathComponent().path)
                guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
                    throw AtomicFile.WriteError(path: destination.path, operation: "create", code: errno)
                }
            }
            item.image.fileName = relative
            item.sourcePath = destination.path
            out.items.append(item)
        }
        try writer.finishUnit(&out, sidecars: WriteStage.Sidecars(categories: context.meta.categories), root: root, context: context)
        return out
    }

    func relocate(_ output: UnitOutput, context: StageContext) throws -> UnitOutput {
        try writer.relocate(output, context: context, linkingImages: imageFiles)
    }

    func finalize(_ units: [UnitOutput], reference: [UnitOutput], context: StageContext) throws -> SinkSummary {
        try writer.finalize(units, reference: reference, context: context)
    }

    func splice(_ shards: [SpliceInput], order: SpliceOrder, context: StageContext) throws -> SinkSummary? {
        try writer.splice(shards, order: order, context: context, linkingImages: imageFiles)
    }
}
