import XCTest
@testable import Datasets

/// The committed demo set exists in both formats with the same images and boxes, so converting one must give
/// the other, field by field.
final class DemoRoundTripTests: XCTestCase {
    let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("data/demo")
    let classes = ["circle", "square", "triangle", "star", "ring"]

    func testVOCToCOCOMatchesTheCOCOVersion() throws {
        let voc = try VOCReader.load(devkit: demo.appendingPathComponent("VOCdevkit"), splits: ["VOC2007/train"], classes: classes)
        XCTAssertEqual(voc.issues, [])
        // VOC -> COCO JSON -> back.
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: temp) }
        try COCOWriter.write(voc, to: temp)
        let converted = try COCOReader.load(instances: temp)
        let coco = try COCOReader.load(instances: demo.appendingPathComponent("coco/annotations/instances_train.json"))

        XCTAssertEqual(converted.images.count, 160)
        XCTAssertEqual(converted.images.count, coco.images.count)
        // Image ids: VOC ids are positions in the split list, which the demo keeps equal to the COCO ids.
        for (a, b) in zip(converted.images, coco.images) {
            XCTAssertEqual(a.id, b.id)
            XCTAssertEqual(a.width, b.width)
            XCTAssertEqual(a.height, b.height)
            XCTAssertEqual(URL(fileURLWithPath: a.fileName).deletingPathExtension().lastPathComponent,
                           String(URL(fileURLWithPath: b.fileName).deletingPathExtension().lastPathComponent.suffix(6)))
        }
        // Categories map by name (VOC ids are 1...5, COCO's are 1, 3, 7, 12, 20).
        let vocName = Dictionary(uniqueKeysWithValues: converted.categories.map { ($0.id, $0.name) })
        let cocoName = Dictionary(uniqueKeysWithValues: coco.categories.map { ($0.id, $0.name) })
        XCTAssertEqual(converted.categories.map(\.name), classes)
        // Boxes: VOC's 1-based inclusive corners convert exactly to the COCO boxes, in the same order.
        let a = converted.annotationsByImage(), b = coco.annotationsByImage()
        XCTAssertEqual(converted.annotations.count, coco.annotations.count)
        for image in coco.images {
            let left = a[image.id] ?? [], right = b[image.id] ?? []
            XCTAssertEqual(left.count, right.count, "image \(image.id)")
            for (x, y) in zip(left, right) {
                XCTAssertEqual(x.bbox, y.bbox, "image \(image.id)")
                XCTAssertEqual(vocName[x.categoryId], cocoName[y.categoryId], "image \(image.id)")
                XCTAssertEqual(x.area, x.bbox.area, "VOC area is the box area")
                XCTAssertNotNil(x.difficult)
                XCTAssertNotNil(x.truncated)
                XCTAssertFalse(x.isCrowd)
            }
        }
        XCTAssertGreaterThan(converted.annotations.filter { $0.difficult == true }.count, 0, "difficult survives the round trip")
        XCTAssertGreaterThan(converted.annotations.filter { $0.truncated == true }.count, 0, "truncated survives the round trip")
    }

    func testCOCOCaptionsLoadWithTheDemo() throws {
        let coco = try COCOReader.load(instances: demo.appendingPathComponent("coco/annotations/instances_val.json"),
                                       captions: demo.appendingPathComponent("coco/annotations/captions_val.json"))
        XCTAssertEqual(coco.images.count, 40)
        XCTAssertEqual(coco.captions.count, 200)
        XCTAssertEqual(Set(coco.categories.map(\.id)), [1, 3, 7, 12, 20])
        XCTAssertTrue(coco.annotations.allSatisfy { $0.segmentation != nil })
    }
}
