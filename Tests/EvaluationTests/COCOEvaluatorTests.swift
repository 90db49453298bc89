import Foundation
import XCTest
@testable import Datasets
@testable import Evaluation

/// The evaluator's rules on cases small enough to work out by hand (the pycocotools parity is in
/// COCOEvalParityTests).
final class COCOEvaluatorTests: XCTestCase {
    func box(_ x: Double, _ y: Double, _ w: Double, _ h: Double) -> BoundingBox { BoundingBox(x: x, y: y, width: w, height: h) }

    func truth(_ id: Int, image: Int = 1, category: Int = 1, _ b: BoundingBox, area: Double? = nil, crowd: Bool = false) -> Annotation {
        Annotation(id: id, imageId: image, categoryId: category, bbox: b, area: area, isCrowd: crowd)
    }

    func detection(image: Int = 1, category: Int = 1, _ b: BoundingBox, _ score: Double) -> COCODetection {
        COCODetection(imageId: image, categoryId: category, bbox: b, score: score)
    }

    func summary(_ annotations: [Annotation], _ detections: [COCODetection], images: [Int] = [1]) -> COCOEvalSummary {
        let gt = DetectionDataset(images: images.map { ImageInfo(id: $0, fileName: "\($0).jpg", width: 1000, height: 1000) },
                                  annotations: annotations, categories: [Category(id: 1, name: "thing")])
        return COCOEvalSummary(COCOEvaluator.evaluate(groundTruth: gt, detections: detections), categories: gt.categories)
    }

    func ap(_ s: COCOEvalSummary) -> Double { s.values[0] }

    /// Precision is tp / (tp + fp + 2^-52) as in pycocotools, so a perfect score is 1 - 1e-16, not 1.
    func assertClose(_ ours: [Double], _ expected: [Double], _ message: String = "", line: UInt = #line) {
        XCTAssertEqual(ours.count, expected.count, message, line: line)
        for (a, b) in zip(ours, expected) { XCTAssertEqual(a, b, accuracy: 1e-12, "\(ours) vs \(expected) \(message)", line: line) }
    }

    func testThresholdsAreNumpyLinspaceValues() {
        let r = COCOEvalParameters.recallThresholds
        XCTAssertEqual(r.count, 101)
        XCTAssertEqual(r[0], 0)
        XCTAssertEqual(r[100], 1)
        XCTAssertEqual(r[35], 0.35000000000000003, "np.linspace's 0.35 is 35 * 0.01, a little above 35 / 100")
        XCTAssertGreaterThan(r[35], 35.0 / 100)
        XCTAssertEqual(r[7], 7.0 / 100)
        let t = COCOEvalParameters.iouThresholds
        XCTAssertEqual(t.count, 10)
        XCTAssertEqual(t[COCOEvalParameters.iou75Index], 0.75)
        XCTAssertEqual(t[8], 0.8999999999999999, "as np.linspace(.5, .95, 10) gives it")
        XCTAssertEqual(t[9], 0.95)
    }

    func testIoUAndCrowdIoU() {
        let d = box(10, 10, 20, 20), g = box(0, 0, 100, 100)
        XCTAssertEqual(COCOImageMatching.iou(d, g, crowd: false), 400.0 / 10_000)
        XCTAssertEqual(COCOImageMatching.iou(d, g, crowd: true), 1, "a crowd box: intersection over the detection's area")
        XCTAssertEqual(COCOImageMatching.iou(box(0, 0, 10, 10), box(10, 0, 10, 10), crowd: false), 0, "touching boxes")
        XCTAssertEqual(COCOImageMatching.iou(box(5, 5, 0, 10), box(0, 0, 10, 10), crowd: false), 0, "a zero-width box")
    }

    func testAPCountsTheIoUThresholdsADetectionPasses() {
        let g = truth(1, box(0, 0, 100, 100))
        assertClose(summary([g], [detection(box(0, 0, 100, 100), 0.9)]).values, [1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1, 1])
        // IoU 0.62 passes 0.50, 0.55 and 0.60 of the ten thresholds.
        let s = summary([g], [detection(box(0, 0, 100, 62), 0.9)])
        XCTAssertEqual(ap(s), 0.3, accuracy: 1e-12)
        XCTAssertEqual(s.values[1], 1, accuracy: 1e-12, "AP50")
        XCTAssertEqual(s.values[2], 0, "AP75")
        XCTAssertEqual(s.values[8], 0.3, accuracy: 1e-12, "AR100")
    }

    func testTiesKeepFileOrderWithinAnImageAndImageOrderAcrossImages() {
        let g = truth(1, box(0, 0, 100, 100))
        let hit = detection(box(0, 0, 100, 100), 0.5), miss = detection(box(500, 500, 100, 100), 0.5)
        XCTAssertEqual(ap(summary([g], [hit, miss])), 1, accuracy: 1e-12, "the hit comes first")
        XCTAssertEqual(ap(summary([g], [miss, hit])), 0.5, accuracy: 1e-12, "the miss comes first: precision 1/2 at recall 1")
        // Across images the ascending image id decides, not the file order.
        let g2 = truth(1, image: 2, box(0, 0, 100, 100))
        let hit2 = detection(image: 2, box(0, 0, 100, 100), 0.5), miss1 = detection(image: 1, box(500, 500, 100, 100), 0.5)
        XCTAssertEqual(ap(summary([g2], [hit2, miss1], images: [1, 2])), 0.5, accuracy: 1e-12)
    }

    func testDetectionsInsideACrowdCountNeitherWay() {
        let crowd = truth(1, box(0, 0, 500, 500), area: 200_000, crowd: true)
        let person = truth(2, box(600, 600, 100, 100))
        let inside = (0..<5).map { detection(box(Double($0) * 50, 10, 40, 80), 0.9) }
        let s = summary([crowd, person], inside + [detection(box(600, 600, 100, 100), 0.1)])
        XCTAssertEqual(ap(s), 1, accuracy: 1e-12, "the five detections in the crowd are ignored, not false positives")
        XCTAssertEqual(s.categories[0].groundTruthBoxes, 1, "a crowd box is not a box to find")
    }

    func testEachImageKeepsItsHundredBestDetections() {
        let g = truth(1, box(0, 0, 100, 100))
        let hit = detection(box(0, 0, 100, 100), 0.1)
        func misses(_ n: Int) -> [COCODetection] { (0..<n).map { detection(box(500 + Double($0), 500, 100, 100), 0.9) } }
        let kept = summary([g], misses(99) + [hit])
        XCTAssertEqual(kept.values[8], 1, "AR100: the hit is the 100th")
        XCTAssertEqual(kept.values[7], 0, "AR10")
        XCTAssertEqual(kept.categories[0].detections, 100)
        let cut = summary([g], misses(100) + [hit])
        XCTAssertEqual(cut.values[8], 0, "the hit is the 101st: dropped")
        XCTAssertEqual(cut.categories[0].detections, 100)
    }

    func testSizeRangesUseTheAnnotationAreaAndIgnoreUnmatchedDetectionsOutsideThem() {
        // A 100x100 box whose mask area is small (900 < 32²) is a small object.
        let g = truth(1, box(0, 0, 100, 100), area: 900)
        let s = summary([g], [detection(box(0, 0, 100, 100), 0.5), detection(box(300, 300, 200, 200), 0.9)])
        XCTAssertEqual(s.values[3], 1, accuracy: 1e-12, "APs: the unmatched 200x200 false positive is outside the small range, so ignored there")
        XCTAssertEqual(s.values[4], -1, "APm: no medium ground truth")
        XCTAssertEqual(ap(s), 0.5, accuracy: 1e-12, "area=all: the false positive counts and comes first")
    }

    func testAMatchToAnnotationIdZeroCountsAsAFalsePositiveAsInPycocotools() {
        let d = detection(box(0, 0, 100, 100), 0.9)
        XCTAssertEqual(ap(summary([truth(1, box(0, 0, 100, 100))], [d])), 1, accuracy: 1e-12)
        XCTAssertEqual(ap(summary([truth(0, box(0, 0, 100, 100))], [d])), 0)
    }

    func testAnEqualIoUGoesToTheLaterBox() {
        // The first detection overlaps both boxes equally (IoU 7/9); the second overlaps only the first box
        // enough for IoU 0.5 (0.6, against 1/3 with the other).
        let a = truth(1, box(0, 0, 40, 40)), b = truth(2, box(10, 0, 40, 40))
        let s = summary([a, b], [detection(box(5, 0, 40, 40), 0.9), detection(box(-10, 0, 40, 40), 0.8)])
        XCTAssertEqual(s.values[1], 1, accuracy: 1e-12, "AP50: the first detection took the later box, leaving the first one to the second detection")
    }

    func testSummaryFormatsAsPython() {
        XCTAssertEqual(COCOEvalSummary.format(0.0625, 3), "0.062", "Python rounds the exact binary value, ties to even")
        XCTAssertEqual(COCOEvalSummary.format(0.0635, 3), "0.064", "0.0635 is stored a little above")
        XCTAssertEqual(COCOEvalSummary.format(-1, 3), "-1.000")
        let s = summary([], [])
        XCTAssertEqual(s.lines[0], " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = -1.000")
        XCTAssertEqual(s.lines[2], " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = -1.000")
        XCTAssertEqual(s.lines[6], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = -1.000")
        XCTAssertEqual(s.lines[10], " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000")
    }
}
