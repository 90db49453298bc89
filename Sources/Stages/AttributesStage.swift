import Adapter
import Datasets
import Diffusion
import Foundation
import Synchronization
import Imaging
import Tensors
import Pipeline

public struct AttributesConfig: StageConfig, Equatable {
    /// A model folder with an `adapter/`: its Detection-Adapter runs in detection-only mode on each image.
    public var model: String?
    /// Or a COCO results JSON of any detector (`[{"image_id", "category_id", "bbox", "score"}]`).
    public var detections: String?
    /// γ: a prediction counts when its score is above this.
    public var scoreThreshold: Double = 0.3
    /// β: ... and its IoU with the ground-truth box (same category) is above this.
    public var iouThreshold: Double = 0.5
    /// The UNet timestep of detection-only mode (default: the lower end of the adapter's training range).
    public var timestep: Int?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case model, detections, scoreThreshold = "score_threshold", iouThreshold = "iou_threshold", timestep
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        model = try c.decodeIfPresent(String.self, forKey: .model)
        detections = try c.decodeIfPresent(String.self, forKey: .detections)
        try c.decodeIfPresent(.scoreThreshold, into: &scoreThreshold)
        try c.decodeIfPresent(.iouThreshold, into: &iouThreshold)
        timestep = try c.decodeIfPresent(Int.self, forKey: .timestep)
        guard (model == nil) != (detections == nil) else {
            throw DecodingError.dataCorruptedError(forKey: .model, in: c, debugDescription:
                "give exactly one detector: `model: FOLDER` (a model with adapter/, e.g. ../models/demo) or `detections: results.json` (COCO results of any detector)")
        }
        guard (0...1).contains(scoreThreshold), (0...1).contains(iouThreshold) else {
            throw DecodingError.dataCorruptedError(forKey: .scoreThreshold, in: c, debugDescription: "score_threshold (γ) and iou_threshold (β) are between 0 and 1 (defaults 0.3 and 0.5)")
        }
    }

    public func resolvingPaths(against base: URL) -> AttributesConfig {
        var copy = self
        copy.model = model.map { absolutePath($0, base: base) }
        copy.detections = detections.map { absolutePath($0, base: base) }
        return copy
    }

    public var dependencies: [String] { [model, detections].compactMap { $0 } }
}

/// DetDiffusion's perception-aware attribute: a detector runs on each real reference image, and a ground-truth
/// box is `easy` when some prediction of its category with score > γ overlaps it with IoU > β, else `hard`.
/// The detector is the model's adapter in detection-only mode or a COCO results file. Images whose pixels
/// cannot be read are dropped and counted (only with a model; a results file needs no pixels).
public final class AttributesStage: Stage {
    public let config: AttributesConfig

    public init(config: AttributesConfig) { self.config = config }

    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        let detector = try config.model.map { folder -> DetectionOnlyDetector in
            ComputeBudget.apply(threadsPerWorker: context.computeThreads)
            let cache = context.models
            return try DetectionOnlyDetector(pipeline: try cache.pipeline(folder, stage: context.stageId),
                                             adapter: try cache.adapter(folder + "/adapter", stage: context.stageId),
                                             timestep: config.timestep)
        }
        let external = try config.detections.map {
            try context.resources.shared { ExternalDetections() }.load($0, categories: context.meta.categories, stage: context.stageId)
        }
        for var item in input.items {
            if context.isCancelled() { throw CancellationError() }
            let predictions: [(box: BoundingBox, categoryId: Int, score: Double)]
            if let detector {
                do {
                    let image = try JPEG.decodeFile(atPath: item.sourcePath).image
                    let noise = DiffusionNoise(seed: DetectionOnlyDetector.noiseSeed(runSeed: context.runSeed, imageId: item.image.id))
                    predictions = try detector.detect(image, noise: noise).map {
                        (BoundingBox(x: Double($0.x0), y: Double($0.y0), width: Double($0.width), height: Double($0.height)), $0.categoryId, Double($0.score))
                    }
                } catch let error as ImagingError {
                    out.drop(item, reason: "corrupt-image", message: "\(error)")
                    out.issues.append(LoadIssue(kind: .corruptImage, file: item.sourcePath, record: item.label, message: "\(error); skipped"))
                    continue
                }
            } else {
                predictions = external?[item.image.id] ?? []
            }
            for i in item.annotations.indices {
                let box = item.annotations[i]
                let easy = predictions.contains { p in
                    p.categoryId == box.categoryId && p.score > config.scoreThreshold && p.box.iou(box.bbox) > config.iouThreshold
                }
                item.annotations[i].attribute = easy ? "easy" : "hard"
                out.count(easy ? "boxes-easy" : "boxes-hard")
            }
            out.count("detections", predictions.count)
            out.items.append(item)
        }
        return out
    }
}

/// COCO results files (`COCOResultsReader`) read once per run (`StageContext.resources`), by image id.
final class ExternalDetections: Sendable {
    typealias ByImage = [Int: [(box: BoundingBox, categoryId: Int, score: Double)]]
    private let files = Mutex<[String: ByImage]>([:])

    func load(_ path: String, categories: [Category], stage: String) throws -> ByImage {
        try files.withLock { files in
            if let hit = files[path] { return hit }
            guard FileManager.default.fileExists(atPath: path) else {
                throw StageError(stage: stage, message: "cannot read the detections file \(path)",
                                 hint: "write it with `dataengine detect --model M --gt instances.json --images DIR --out \(path)` or any detector's COCO results export")
            }
            var byImage: ByImage = [:]
            for d in try COCOResultsReader.load(URL(fileURLWithPath: path), categories: categories) {
                byImage[d.imageId, default: []].append((d.bbox, d.categoryId, d.score))
            }
            files[path] = byImage
            return byImage
        }
    }
}
