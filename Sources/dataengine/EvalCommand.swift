import ArgumentParser
import Foundation
import Datasets

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
            category; --json FILE writes them too. Numbers are -1 where undefined (no ground truth box in that \
            size range). Every detection must name an image and a category of --gt; an empty list scores 0.

            Examples:
              dataengine eval --gt instances_val2017.json --pred detections_val2017.json
              dataengine eval --gt instances_val.json --pred results.json --json eval.json
            """)

    @Option(help: "The ground truth: a COCO instances JSON file.")
    var gt: String

    @Option(help: "The detections: a COCO results JSON file (a list of image_id, category_id, bbox, score).")
    var pred: String

    @Option(help: "Also write the numbers (stats with their names, the printed lines, AP per category) to this JSON file.")
    var json: String?

    func run() throws {
        let groundTruth = try COCOReader.loadGroundTruth(instances: URL(fileURLWithPath: gt))
        let detections = try COCOResultsReader.load(URL(fileURLWithPath: pred), groundTruth: groundTruth)
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

    func note(_ text: String) {
        FileHandle.standardError.write(Data("note: \(text)\n".utf8))
    }
}
