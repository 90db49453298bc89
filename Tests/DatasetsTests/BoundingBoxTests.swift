import XCTest
@testable import Datasets

final class BoundingBoxTests: XCTestCase {
    func testIoUOfHalfOverlappingBoxes() {
        let a = BoundingBox(x: 0, y: 0, width: 10, height: 10)
        let b = BoundingBox(x: 5, y: 0, width: 10, height: 10)
        XCTAssertEqual(a.iou(b), 50.0 / 150.0, accuracy: 1e-12)
        XCTAssertEqual(a.iou(a), 1)
        XCTAssertEqual(a.iou(BoundingBox(x: 20, y: 20, width: 1, height: 1)), 0)
    }

    func testClippingToTheImage() {
        let box = BoundingBox(x: -5, y: 90, width: 20, height: 20)
        XCTAssertEqual(box.clipped(toWidth: 100, height: 100), BoundingBox(x: 0, y: 90, width: 15, height: 10))
        XCTAssertNil(BoundingBox(x: 120, y: 0, width: 5, height: 5).clipped(toWidth: 100, height: 100))
    }

    func testCodableIsCOCOArray() throws {
        let data = try JSONEncoder().encode(BoundingBox(x: 1, y: 2.5, width: 3, height: 4))
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "[1,2.5,3,4]")
    }
}
