import Foundation
import XCTest
import Datasets
@testable import Bench

final class SyntheticCOCOTests: XCTestCase {
    let small = SyntheticCOCO.Parameters(images: 30, annotations: 400, seed: 7, crowdFraction: 0.05)

    func testGeneratedFileLoadsCleanlyWithTheRequestedShape() throws {
        let bytes = SyntheticCOCO.encode(small)
        let d = try COCOReader.decode(instances: bytes, file: "synthetic.json")
        XCTAssertEqual(d.issues, [], "every box lies inside its image")
        XCTAssertEqual(d.images.count, 30)
        XCTAssertEqual(d.annotations.count, 400)
        XCTAssertEqual(d.categories, COCOCategories.all)
        XCTAssertEqual(d.annotations.filter(\.isCrowd).count, 20)
        XCTAssertEqual(Set(d.annotations.map(\.id)).count, 400, "unique annotation ids")
        XCTAssertNotEqual(d.annotations.map(\.id), d.annotations.map(\.id).sorted(), "ids are scrambled, as in COCO")
        let categoryIds = Set(COCOCategories.all.map(\.id))
        XCTAssertTrue(d.annotations.allSatisfy { categoryIds.contains($0.categoryId) })
        for a in d.annotations {
            let seg = try XCTUnwrap(a.segmentation?.text)
            XCTAssertTrue(a.isCrowd ? seg.hasPrefix(#"{"counts": ["#) : seg.hasPrefix("[["), seg)
            XCTAssertGreaterThan(a.area, 0)
        }
        // Crowd RLE counts cover the whole image.
        let crowd = try XCTUnwrap(d.annotations.first(where: \.isCrowd))
        let rle = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(crowd.segmentation!.bytes)) as? [String: Any])
        let size = try XCTUnwrap(rle["size"] as? [Int])
        XCTAssertEqual((rle["counts"] as? [Int])?.reduce(0, +), size[0] * size[1])
        // COCO's layout: unknown image keys and a real-looking float.
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#""coco_url": "http://images.cocodataset.org/train2017/"#))
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(bytes)))
    }

    func testSameSeedSameBytesAndWriteMatchesEncode() throws {
        let a = SyntheticCOCO.encode(small)
        XCTAssertEqual(a, SyntheticCOCO.encode(small))
        var other = small
        other.seed = 8
        XCTAssertNotEqual(a, SyntheticCOCO.encode(other))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synthetic-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("instances.json")
        let summary = try SyntheticCOCO.write(small, to: url)
        XCTAssertEqual(try Array(Data(contentsOf: url)), a)
        XCTAssertEqual(summary, SyntheticCOCO.Summary(bytes: a.count, images: 30, annotations: 400, crowdAnnotations: 20))
    }

    func testDefaultsAreTrain2017Scale() {
        let p = SyntheticCOCO.Parameters()
        XCTAssertEqual(p.images, 118_287)
        XCTAssertEqual(p.annotations, 860_001)
        XCTAssertEqual(COCOCategories.all.count, 80)
        XCTAssertEqual(COCOCategories.all.map(\.id).filter { !(1...90).contains($0) }, [])
        XCTAssertEqual(Set(1...90).subtracting(COCOCategories.all.map(\.id)).sorted(), [12, 26, 29, 30, 45, 66, 68, 69, 71, 83])
    }
}
