import ArgumentParser
import Foundation
import Datasets
import Support
import Evaluation

/// `dataengine eval`: COCO box AP of a results file against a ground truth instances file.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "COCO box evaluation of detections (AP, AP50, AP75, AP/AR by size, AR@1/10/100), as pycocotools' COCOeval.",
        discussion: """
            --gt is a COCO instances JSON file (images, annotations, categories); --pred a COCO results file, \
            the list a detector writes for COCO evaluation:
              [{"image_id": 1, "category_id": 3, "bbox": [x, y, w, h], "score": 0.9}, ...]
            Prints pycocotools' 12 summary lines (same layout, same numbers: docs/datasets.md) and AP per \
            category; --json FILE writes them too. --pred may also be a COCO instances file whose annotations \
            carry a `score` (a generated dataset: labels against `reference_boxes_<name>.json`, its label \
            fidelity). Numbers are -1 where undefined (no ground truth box in that size range). Every \
            detection must name an image and a category of --gt; an empty list scores 0.

            Examples:
              dataengine eval --gt instances_val2017.json --pred detections_val2017.json
              dataengine eval --gt instances_val.json --pred results.json --json eval.json
              dataengine eval \\
                --gt runs/demo/output/demo_de/annotations/reference_boxes_demo_de.json \\
                --pred runs/demo/output/demo_de/annotations/instances_demo_de.json
            """)

    @Option(help: "The ground truth: a COCO instances JSON file.")
    var gt: String

    @Option(help: "The detections: a COCO results JSON file (a list of image_id, category_id, bbox, score).")
    var pred: String

    @Option(help: "Also write the numbers (stats with their names, the printed lines, AP per category) to this JSON file.")
    var json: String?

    func run() throws {
        let groundTruth = try COCOReader.loadGroundTruth(instances: URL(fileURLWithPath: gt))
        let detections = try loadDetections(groundTruth: groundTruth)
        let evaluation = COCOEvaluator.evaluate(groundTruth: groundTruth, detections: detections)
        let summary = COCOEvalSummary(evaluation, categories: groundTruth.categories)

        print("Evaluated \(detections.count) detections on \(evaluation.imageIds.count) images, \(evaluation.categoryIds.count) categories (bbox)")
        for line in summary.lines { print(line) }
        print("\nAP per category @[ IoU=0.50:0.95 | area=all | maxDets=100 ]:")
        print(summary.categoryTable())

        if detections.isEmpty {
            note("\(pred) holds no detections: every AP and AR is 0 where there is ground truth (pycocotools' loadRes refuses an empty list)")
        }
        if evaluation.annotationsLeftOut > 0 {
            note("\(evaluation.annotationsLeftOut) annotation(s) of \(gt) name an image or category the file does not list; left out, as pycocotools does")
        }
        if evaluation.annotationsWithIdZero > 0 {
            note("\(gt) has \(evaluation.annotationsWithIdZero) annotation(s) with id 0: pycocotools, and so this evaluation, counts a "
                 + "detection matched to one as a false positive; number annotations from 1 to avoid it")
        }
        if let json {
            let bytes = summary.json(groundTruth: gt, results: pred, images: evaluation.imageIds.count, detections: detections.count)
            try AtomicFile.write(bytes, to: URL(fileURLWithPath: json))
            note("wrote \(json)")
        }
    }

    /// A results list, or the scored annotations of an instances file (its images must be --gt's).
    func loadDetections(groundTruth: DetectionDataset) throws -> [COCODetection] {
        let url = URL(fileURLWithPath: pred)
        let bytes = try COCOReader.readFile(url)
        guard bytes.first(where: { ![9, 10, 13, 32].contains($0) }) == UInt8(ascii: "{") else {
            return try COCOResultsReader.decode(bytes, file: pred, groundTruth: groundTruth)
        }
        let labelled = try COCOReader.load(instances: url)
        let images = Set(groundTruth.images.map(\.id))
        let unknown = labelled.images.filter { !images.contains($0.id) }
        if let first = unknown.first {
            throw ValidationError("\(pred): image \(first.id) (\(first.fileName)) is not in \(gt) (\(unknown.count) such images); "
                                  + "compare a generated dataset with its own reference_boxes file")
        }
        let unscored = labelled.annotations.filter { $0.score == nil }.count
        if unscored > 0 { note("\(unscored) annotation(s) of \(pred) have no score; counted with score 1") }
        return labelled.annotations.map { COCODetection(imageId: $0.imageId, categoryId: $0.categoryId, bbox: $0.bbox, score: $0.score ?? 1) }
    }

    func note(_ text: String) {
        FileHandle.standardError.write(Data("note: \(text)\n".utf8))
    }
}
