import Foundation
import XCTest
@testable import Datasets
@testable import Evaluation

/// Every committed case of Fixtures/eval (made by tools/make_eval_fixtures.py with pycocotools' COCOeval)
/// against DataEngine's evaluator: the 12 numbers, the printed lines, AP per category, and the full recall and
/// precision arrays (precision summed over recall thresholds).
final class COCOEvalParityTests: XCTestCase {
    struct Expected: Decodable {
        struct CategoryAP: Decodable { var id: Int; var ap: Double; var ap50: Double; var ap75: Double }
        var stats: [Double]
        var lines: [String]
        var per_category: [CategoryAP]
        var category_ids: [Int]
        /// [T][K][A][M]
        var recall: [[[[Double]]]]
        var precision_sum: [[[[Double]]]]
    }

    /// The bar is 0.001; the implementation follows pycocotools operation for operation, so only the
    /// order of summing in the final means differs.
    static let tolerance = 1e-9

    static var root: URL {
        get throws {
            try XCTUnwrap(Bundle.module.url(forResource: "eval", withExtension: nil, subdirectory: "Fixtures"), "missing Fixtures/eval")
        }
    }

    static func cases() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.path).filter { !$0.hasPrefix(".") }.sorted()
    }

    struct Outcome {
        var summary: COCOEvalSummary
        var evaluation: COCOEvaluation
        var expected: Expected
    }

    static func run(_ folder: URL) throws -> Outcome {
        let gt = try COCOReader.loadGroundTruth(instances: folder.appendingPathComponent("gt.json"))
        let detections = try COCOResultsReader.load(folder.appendingPathComponent("results.json"), groundTruth: gt)
        let evaluation = COCOEvaluator.evaluate(groundTruth: gt, detections: detections)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        return Outcome(summary: COCOEvalSummary(evaluation, categories: gt.categories), evaluation: evaluation, expected: expected)
    }

    func testTheCommittedCasesAreThere() throws {
        XCTAssertEqual(try Self.cases(), ["crowd", "gt-quirks", "no-detections", "no-ground-truth", "random-dense", "random-mixed"])
    }

    func testEveryCaseMatchesPycocotools() throws {
        var worst = (difference: 0.0, place: "")
        func compare(_ ours: Double, _ theirs: Double, _ place: @autoclosure () -> String) {
            let d = abs(ours - theirs)
            if d > worst.difference { worst = (d, place()) }
            XCTAssertEqual(ours, theirs, accuracy: Self.tolerance, place())
        }
        for name in try Self.cases() {
            let o = try Self.run(Self.root.appendingPathComponent(name))
            let (summary, evaluation, expected) = (o.summary, o.evaluation, o.expected)
            XCTAssertEqual(summary.values.count, 12)
            for (i, (ours, theirs)) in zip(summary.values, expected.stats).enumerated() {
                compare(ours, theirs, "\(name): stats[\(i)] (\(summary.stats[i].name))")
            }
            XCTAssertEqual(summary.lines, expected.lines, "\(name): the printed summary")
            XCTAssertEqual(evaluation.categoryIds, expected.category_ids, name)
            XCTAssertEqual(summary.categories.map(\.id), expected.per_category.map(\.id), name)
            for (ours, theirs) in zip(summary.categories, expected.per_category) {
                compare(ours.ap, theirs.ap, "\(name): AP of category \(theirs.id)")
                compare(ours.ap50, theirs.ap50, "\(name): AP50 of category \(theirs.id)")
                compare(ours.ap75, theirs.ap75, "\(name): AP75 of category \(theirs.id)")
            }
            for t in 0..<10 {
                for k in evaluation.categoryIds.indices {
                    for a in 0..<4 {
                        for m in 0..<3 {
                            compare(evaluation.recall(t: t, k: k, a: a, m: m), expected.recall[t][k][a][m],
                                    "\(name): recall[\(t)][\(k)][\(a)][\(m)]")
                            let sum = (0..<101).reduce(0.0) { $0 + evaluation.precision(t: t, r: $1, k: k, a: a, m: m) }
                            compare(sum, expected.precision_sum[t][k][a][m], "\(name): precision[\(t)][:][\(k)][\(a)][\(m)] summed")
                        }
                    }
                }
            }
        }
        print("COCO eval parity: worst difference from pycocotools \(worst.difference) at \(worst.place)")
    }

    func testTheCasesCoverWhatTheyClaim() throws {
        let mixed = try Self.run(Self.root.appendingPathComponent("random-mixed"))
        let byId = Dictionary(uniqueKeysWithValues: mixed.summary.categories.map { ($0.id, $0) })
        XCTAssertEqual(byId[12]?.detections, 0, "a category with boxes and no detections")
        XCTAssertEqual(byId[12]?.ap, 0)
        XCTAssertEqual(byId[90]?.groundTruthBoxes, 0, "a category with detections and no boxes")
        XCTAssertGreaterThan(byId[90]?.detections ?? 0, 0)
        XCTAssertEqual(byId[90]?.ap, -1)
        XCTAssertTrue(mixed.summary.values.allSatisfy { $0 > 0 && $0 < 1 }, "\(mixed.summary.values)")

        let dense = try Self.run(Self.root.appendingPathComponent("random-dense"))
        XCTAssertEqual(dense.evaluation.detectionCounts.reduce(0, +) < 283, true, "one image's detections are cut at 100")
        XCTAssertNotEqual(dense.summary.values[7], dense.summary.values[8], "AR@10 and AR@100 differ: more than 10 per image")

        let none = try Self.run(Self.root.appendingPathComponent("no-detections"))
        XCTAssertEqual(none.summary.values, [Double](repeating: 0, count: 12), "no detections: 0 where there is ground truth")
        let noTruth = try Self.run(Self.root.appendingPathComponent("no-ground-truth"))
        XCTAssertEqual(noTruth.summary.values, [Double](repeating: -1, count: 12), "no ground truth: undefined everywhere")

        let quirks = try Self.run(Self.root.appendingPathComponent("gt-quirks"))
        XCTAssertEqual(quirks.evaluation.annotationsWithIdZero, 1)
        XCTAssertEqual(quirks.evaluation.annotationsLeftOut, 1, "the annotation of an unlisted category")
    }

    /// Opt-in: `python3 tools/make_eval_fixtures.py --large DIR` writes a COCO val2017-sized case (5000 images,
    /// 80 categories, 100 detections per image) with pycocotools' numbers and time; DATAENGINE_EVAL_LARGE=DIR
    /// checks the numbers and prints DataEngine's time.
    func testCOCOScaleCaseFromEnvironment() throws {
        guard let dir = ProcessInfo.processInfo.environment["DATAENGINE_EVAL_LARGE"] else {
            throw XCTSkip("set DATAENGINE_EVAL_LARGE to a folder written by tools/make_eval_fixtures.py --large")
        }
        let folder = URL(fileURLWithPath: dir)
        var start = Date()
        let gt = try COCOReader.loadGroundTruth(instances: folder.appendingPathComponent("gt.json"))
        let detections = try COCOResultsReader.load(folder.appendingPathComponent("results.json"), groundTruth: gt)
        let load = Date().timeIntervalSince(start)
        start = Date()
        let evaluation = COCOEvaluator.evaluate(groundTruth: gt, detections: detections)
        let summary = COCOEvalSummary(evaluation, categories: gt.categories)
        let seconds = Date().timeIntervalSince(start)
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: folder.appendingPathComponent("expected.json")))
        let worst = zip(summary.values, expected.stats).map { abs($0 - $1) }.max() ?? 0
        print(String(format: "COCO scale: %d images, %d boxes, %d detections: load %.2f s, evaluate %.2f s; worst difference %.3g",
                     gt.images.count, gt.annotations.count, detections.count, load, seconds, worst))
        XCTAssertEqual(summary.lines, expected.lines)
        XCTAssertLessThan(worst, Self.tolerance)
    }
}
