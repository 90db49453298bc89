import Datasets
import Foundation
import Pipeline
import Support

/// `label` with `mode: results`: boxes from the user's own detector, for models no Detection-Adapter exists for
/// (SD2, SD-Turbo). It waits for every generated image (a barrier, so `generate` runs as its own checkpointed
/// stage). Without the results file it lists the images as a COCO file (images and categories, no annotations: what
/// `dataengine detect --gt` and most detectors' test scripts read) and stops the run with what to do; `resume`
/// then reads the file. Detections keep their score (the confidence stage's δ applies to the detector's scale) and
/// inherit attributes from the reference boxes as adapter labels do.
public final class ResultsLabelStage: BarrierStage {
    public let config: LabelConfig
    /// The listing's name in the stage's work folder.
    public static let listingName = "generated_images.json"

    public init(config: LabelConfig) { self.config = config }

    public func plan(_ units: [UnitOutput], context: StageContext) throws -> UnitOutput {
        guard let resultsPath = config.results else {
            throw StageError(stage: context.stageId, message: "`mode: results` has no results file", hint: "add `results: FILE` to the label stage")
        }
        let items = units.flatMap(\.items)
        let listing = DetectionDataset(images: items.map { ImageInfo(id: $0.image.id, fileName: $0.image.fileName, width: $0.image.width, height: $0.image.height) },
                                       categories: context.meta.categories)
        let resultsURL = URL(fileURLWithPath: resultsPath)
        guard FileManager.default.fileExists(atPath: resultsPath) else {
            let listingURL = try context.requireWorkDirectory().appendingPathComponent(Self.listingName)
            try COCOWriter.write(listing, to: listingURL)
            throw StageError(stage: context.stageId,
                             message: "waiting for your detector's boxes: \(items.count) generated images are listed in \(listingURL.path) (images in \(Self.imageFolder(of: items) ?? "the generate stage's work folder")); \(resultsPath) does not exist yet",
                             hint: "run your detector on them and write COCO results (image_id, category_id, bbox, score) to \(resultsPath), e.g. `dataengine detect --model MODEL --gt \(listingURL.path) --images \(Self.imageFolder(of: items) ?? "IMAGES") --out \(resultsPath)`; then `dataengine resume` this run directory")
        }
        // Image ids are not checked against this run's images: one results file serves every shard of a sharded run,
        // and detections of images this run does not hold are counted, not used.
        let detections = try COCOResultsReader.load(resultsURL, categories: context.meta.categories)
        let byImage = Dictionary(grouping: detections, by: \.imageId)
        var out = UnitOutput()
        let ids = Set(items.map(\.image.id))
        out.count("results-of-other-images", detections.count(where: { !ids.contains($0.imageId) }))
        for var item in items {
            let found = byImage[item.image.id] ?? []
            if found.isEmpty { out.count("images-without-results") }
            let boxes = found.filter { $0.bbox.width > 0 && $0.bbox.height > 0 }
            out.count("labels-without-area", found.count - boxes.count)
            item.annotations = boxes.prefix(GeneratedIds.maxBoxes).enumerated().map { k, d in
                config.annotation(x0: d.bbox.x, y0: d.bbox.y, x1: d.bbox.x + d.bbox.width, y1: d.bbox.y + d.bbox.height,
                                  categoryId: d.categoryId, score: d.score, index: k, item: item)
            }
            out.count("boxes-labelled", item.annotations.count)
            out.items.append(item)
        }
        return out
    }

    /// The folder the generated images are in (their paths end with their file names), when they share one.
    static func imageFolder(of items: [DatasetItem]) -> String? {
        let folders = Set(items.compactMap { item -> String? in
            guard item.sourcePath.hasSuffix("/" + item.image.fileName) else { return nil }
            return String(item.sourcePath.dropLast(item.image.fileName.count + 1))
        })
        return folders.count == 1 ? folders.first : nil
    }
}
