import Foundation

extension COCOReader {
    /// Loads an instances file as ground truth for `COCOEvaluator`: the records exactly as pycocotools' `COCO`
    /// sees them. Unlike `load`, nothing is repaired, because a repaired box would give different numbers from
    /// pycocotools: boxes outside their image stay unclipped, zero-size boxes stay (they overlap nothing),
    /// annotations naming an image or category that is not in the file stay (the evaluator leaves them out,
    /// as pycocotools does), and unsafe file names do not matter (no image is read).
    ///
    /// The same fatal errors as `load`: invalid JSON, a missing or mistyped required field, duplicate image,
    /// category or annotation ids. A missing `area` is the box area (pycocotools would stop with a KeyError).
    public static func loadGroundTruth(instances: URL) throws -> DetectionDataset {
        try decodeGroundTruth(readFile(instances), file: instances.path)
    }

    /// Parses ground-truth instances JSON already in memory; `file` names it in errors.
    public static func decodeGroundTruth(_ bytes: [UInt8], file: String) throws -> DetectionDataset {
        let content = try parse(bytes, file: file) { p in try p.parseInstances() }
        try content.checkAnnotationIdsAreUnique(file: file)
        return DetectionDataset(info: content.info, licenses: content.licenses, images: content.images,
                                annotations: content.annotations, categories: content.categories)
    }
}
