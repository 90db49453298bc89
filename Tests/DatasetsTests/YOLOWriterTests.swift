import Foundation
import XCTest
@testable import Datasets

/// Issue 19 item 16: YOLO labels and data.yaml in the ultralytics layout.
final class YOLOWriterTests: XCTestCase {
    let categories = [Category(id: 18, name: "dog"), Category(id: 1, name: "person"), Category(id: 90, name: "yes")]

    func testClassesAreContiguousInCategoryIdOrder() {
        XCTAssertEqual(YOLOWriter.classIndices(categories), [1: 0, 18: 1, 90: 2])
    }

    func testLabelLinesAreNormalisedCentresAndSizes() {
        let image = ImageInfo(id: 1, fileName: "a.jpg", width: 200, height: 100)
        let annotations = [
            Annotation(id: 1, imageId: 1, categoryId: 18, bbox: BoundingBox(x: 10, y: 20, width: 50, height: 30)),
            Annotation(id: 2, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 180, y: -10, width: 40, height: 20)),   // clipped
            Annotation(id: 3, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 5, height: 5), isCrowd: true),
            Annotation(id: 4, imageId: 1, categoryId: 7, bbox: BoundingBox(x: 0, y: 0, width: 5, height: 5)),
            Annotation(id: 5, imageId: 1, categoryId: 90, bbox: BoundingBox(x: 300, y: 0, width: 5, height: 5)),
            Annotation(id: 6, imageId: 1, categoryId: 90, bbox: BoundingBox(x: 1.0 / 3, y: 0, width: 2.0 / 3, height: 100), score: 0.9),
        ]
        let (text, omitted) = YOLOWriter.labels(for: image, annotations: annotations, classes: YOLOWriter.classIndices(categories))
        XCTAssertEqual(text, """
            1 0.175000 0.350000 0.250000 0.300000
            0 0.950000 0.050000 0.100000 0.100000
            2 0.003333 0.500000 0.003333 1.000000

            """)
        XCTAssertEqual(omitted.crowd, 1)
        XCTAssertEqual(omitted.unknownCategory, 1)
        XCTAssertEqual(omitted.outsideImage, 1)
        XCTAssertEqual(YOLOWriter.labels(for: image, annotations: [], classes: [:]).text, "", "no boxes: an empty file")
    }

    func testDataYAMLNamesTheClassesAndQuotesStrings() {
        XCTAssertEqual(YOLOWriter.dataYAML(categories: categories + [Category(id: 5, name: "a\tb \"ü\"")]), """
            # YOLO dataset (ultralytics layout) written by DataEngine: images/ and labels/ beside this file.
            # No `path` key: ultralytics uses this file's folder.
            train: images
            val: images
            names:
              0: "person"
              1: "a\\tb \\"ü\\""
              2: "dog"
              3: "yes"

            """)
    }

    func testStemRefusal() {
        XCTAssertNil(YOLOWriter.stemRefusal("my photo ü"), "spaces are fine for ultralytics")
        for bad in ["", ".hidden", "a\nb"] { XCTAssertNotNil(YOLOWriter.stemRefusal(bad), bad) }
    }
}
