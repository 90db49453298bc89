import Foundation

/// Loads a COCO results file (a detector's output, the `--pred` of `dataengine eval`) for evaluation against a
/// ground truth.
///
/// Stricter than pycocotools' `loadRes` where it silently does something surprising: a detection naming a
/// category the ground truth does not have is an error here (pycocotools leaves it out of the evaluation,
/// which hides a label-mapping bug as a low AP). Errors name the file, the detection (`detection #i`, 0-based
/// as in `jq '.[i]'`), the byte, line and column, what is wrong and how to fix it. An empty list is accepted:
/// it is a detector that found nothing.
public enum COCOResultsReader {
    public static func load(_ url: URL, groundTruth: DetectionDataset) throws -> [COCODetection] {
        try decode(COCOReader.readFile(url), file: url.path, groundTruth: groundTruth)
    }

    /// Parses results JSON already in memory; `file` names it in errors.
    public static func decode(_ bytes: [UInt8], file: String, groundTruth: DetectionDataset) throws -> [COCODetection] {
        let images = COCOIdIndex(groundTruth.images.lazy.map(\.id))
        let categories = COCOIdIndex(groundTruth.categories.lazy.map(\.id))
        return try COCOReader.parse(bytes, file: file) { p in
            try p.parseResults(groundTruthImages: images, groundTruthCategories: categories) {
                describe(groundTruth.categories.map(\.id))
            }
        }
    }

    /// Loads a results file made for a dataset with these categories, for any of its images (the attributes stage
    /// reads a detector's results on the whole source dataset). Same checks and errors as `load`, but image ids
    /// are not checked.
    public static func load(_ url: URL, categories: [Category]) throws -> [COCODetection] {
        let index = COCOIdIndex(categories.lazy.map(\.id))
        return try COCOReader.parse(COCOReader.readFile(url), file: url.path) { p in
            try p.parseResults(groundTruthImages: nil, groundTruthCategories: index) { describe(categories.map(\.id)) }
        }
    }

    /// "ids 1, 2, 3" or, for many, "80 ids from 1 to 90".
    static func describe(_ ids: [Int]) -> String {
        let sorted = ids.sorted()
        guard let lo = sorted.first, let hi = sorted.last else { return "it has none" }
        if sorted.count <= 12 { return "ids " + sorted.map(String.init).joined(separator: ", ") }
        return "\(sorted.count) ids from \(lo) to \(hi)"
    }
}
