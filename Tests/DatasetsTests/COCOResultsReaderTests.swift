import Foundation
import XCTest
@testable import Datasets
import Evaluation

/// Reading detections (`--pred`) and ground truth (`--gt`) for evaluation.
final class COCOResultsReaderTests: XCTestCase {
    typealias T = COCOTestSupport

    /// Images 1 and 2, categories 1 and 3 (COCOTestSupport.instances).
    func groundTruth() throws -> DetectionDataset {
        try COCOReader.decodeGroundTruth(Array(T.instances(annotations: [T.annotation(id: 1)]).utf8), file: "gt.json")
    }

    func load(_ text: String) throws -> [COCODetection] {
        try COCOResultsReader.load(try T.write(text, name: "results.json", in: self), groundTruth: groundTruth())
    }

    /// The DatasetError that reading `text` throws; it must name the file and say how to fix the problem.
    func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> DatasetError {
        let url = try T.write(text, name: "results.json", in: self)
        do {
            _ = try COCOResultsReader.load(url, groundTruth: groundTruth())
        } catch let e as DatasetError {
            XCTAssertEqual(e.file, url.path, "the error names the file", file: file, line: line)
            XCTAssertNotNil(e.hint, "the error says how to fix it", file: file, line: line)
            return e
        }
        XCTFail("expected a DatasetError", file: file, line: line)
        throw CancellationError()
    }

    func testReadsDetectionsInFileOrderAndSkipsOtherKeys() throws {
        let d = try load("""
            [{"image_id": 2, "category_id": 3, "bbox": [1.5, 2, 30, 40.25], "score": 0.75, "segmentation": [[1, 2]], "area": 7},
             {"score": 1, "bbox": [0, 0, 1, 1], "category_id": 1, "image_id": 1, "id": 99}]
            """)
        XCTAssertEqual(d, [
            COCODetection(imageId: 2, categoryId: 3, bbox: BoundingBox(x: 1.5, y: 2, width: 30, height: 40.25), score: 0.75),
            COCODetection(imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1), score: 1),
        ])
        XCTAssertEqual(d[0].area, 30 * 40.25, "the area is width * height, whatever the file says")
    }

    func testAnEmptyListIsNoDetections() throws {
        XCTAssertEqual(try load("[]\n"), [])
    }

    func testNotAListSaysWhatAResultsFileIs() throws {
        let e = try error(T.instances(annotations: []))
        XCTAssertTrue(e.message.contains("must be a JSON array of detections, found an object"), e.message)
        XCTAssertTrue(e.hint!.contains("--gt"), "an instances file was passed as results: \(e.hint!)")
    }

    func testAMissingFieldNamesTheDetection() throws {
        let e = try error(#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5},"# + "\n"
                          + #" {"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]"#)
        XCTAssertTrue(e.location!.hasPrefix("detection #1, byte "), e.location!)
        XCTAssertTrue(e.location!.contains("line 2"), e.location!)
        XCTAssertTrue(e.message.contains("\"score\" is missing"), e.message)
    }

    func testABadBoxNamesTheDetectionAndTheShape() throws {
        let e = try error(#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "score": 0.5}]"#)
        XCTAssertTrue(e.location!.hasPrefix("detection #0"), e.location!)
        XCTAssertTrue(e.message.contains("\"bbox\" must be an array of 4 numbers [x, y, width, height], found 3 values"), e.message)
        let text = try error(#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, "2"], "score": 0.5}]"#)
        XCTAssertTrue(text.message.contains("found a string in it"), text.message)
        let id = try error(#"[{"image_id": "000000000001", "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]"#)
        XCTAssertTrue(id.message.contains("\"image_id\" must be an integer, found a string"), id.message)
    }

    func testAnUnknownCategoryIsAnErrorListingTheGroundTruthIds() throws {
        let e = try error(#"[{"image_id": 1, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 0.5}]"#)
        XCTAssertTrue(e.location!.hasPrefix("detection #0"), e.location!)
        XCTAssertTrue(e.message.contains("category_id 0 is not a category of the ground truth (ids 1, 3)"), e.message)
        XCTAssertTrue(e.hint!.contains("mapped back"), e.hint!)
    }

    func testAnUnknownImageIsAnError() throws {
        let e = try error(#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}, "#
                          + #"{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}]"#)
        XCTAssertTrue(e.location!.hasPrefix("detection #1"), e.location!)
        XCTAssertTrue(e.message.contains("image_id 99 is not an image of the ground truth"), e.message)
    }

    func testInvalidJSONAndEmptyFiles() throws {
        let cut = try error(#"[{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}"#)
        XCTAssertTrue(cut.message.contains("invalid JSON"), cut.message)
        let empty = try error("")
        XCTAssertTrue(empty.message.contains("empty"), empty.message)
        let element = try error("[1]")
        XCTAssertTrue(element.message.contains("must be an object, found a number"), element.message)
    }

    func testDescribesManyCategoryIdsByRange() {
        XCTAssertEqual(COCOResultsReader.describe(Array(1...80)), "80 ids from 1 to 80")
        XCTAssertEqual(COCOResultsReader.describe([]), "it has none")
    }

    func testGroundTruthIsReadAsPycocotoolsSeesIt() throws {
        let text = T.instances(annotations: [
            T.annotation(id: 1, image: 1, bbox: "[90, 40, 20, 20]"),        // partly outside the 100x50 image
            T.annotation(id: 2, image: 1, bbox: "[5, 5, 0, 10]"),           // zero width
            T.annotation(id: 3, image: 1, category: 7),                     // unknown category
            T.annotation(id: 4, image: 5),                                  // unknown image
            T.annotation(id: 5, image: 2, bbox: "[0, 0, 10, 10]", extra: #", "area": 42.5, "iscrowd": true"#),
        ])
        let gt = try COCOReader.decodeGroundTruth(Array(text.utf8), file: "gt.json")
        XCTAssertEqual(gt.annotations.map(\.id), [1, 2, 3, 4, 5], "nothing is dropped")
        XCTAssertEqual(gt.annotations[0].bbox, BoundingBox(x: 90, y: 40, width: 20, height: 20), "not clipped")
        XCTAssertEqual(gt.annotations[4].area, 42.5)
        XCTAssertTrue(gt.annotations[4].isCrowd)
        XCTAssertEqual(gt.issues, [])
        // The normal loader repairs the same file, which would change the numbers.
        let repaired = try COCOReader.decode(instances: Array(text.utf8), file: "gt.json")
        XCTAssertEqual(repaired.annotations.count, 2)
        XCTAssertEqual(COCOEvaluator.evaluate(groundTruth: gt, detections: []).annotationsLeftOut, 2)
    }

    func testGroundTruthWithDuplicateAnnotationIdsIsRefused() throws {
        let text = T.instances(annotations: [T.annotation(id: 4), T.annotation(id: 4, image: 2)])
        XCTAssertThrowsError(try COCOReader.decodeGroundTruth(Array(text.utf8), file: "gt.json")) { error in
            XCTAssertTrue("\(error)".contains("duplicate annotation id 4"), "\(error)")
        }
    }
}
