import Foundation
import XCTest
@testable import Datasets

/// `COCOWriter.encodeWithLayout`: the same bytes as `encode`, and each record's range holds exactly that record,
/// also when a source segmentation spans lines and when the lists are written on all cores.
final class COCOWriterLayoutTests: XCTestCase {
    func dataset(images: Int, perImage: Int) -> DetectionDataset {
        let multiline = RawJSON("[[1,\n 2,\n 3, 4, 5, 6]]")
        return DetectionDataset(
            info: RawJSON("{\n  \"description\": \"x\"\n}"), licenses: nil,
            images: (1...images).map { ImageInfo(id: $0, fileName: "shard-00000/\($0).jpg", width: 10, height: 10) },
            annotations: (1...images).flatMap { image in (0..<perImage).map { k in
                Annotation(id: image * 10 + k, imageId: image, categoryId: 1, bbox: BoundingBox(x: 1, y: 1, width: 2, height: 3),
                           segmentation: k == 0 ? multiline : nil)
            } },
            categories: [Category(id: 1, name: "a")])
    }

    func testRecordsLieWhereTheLayoutSays() throws {
        for (images, perImage) in [(3, 2), (30_000, 1)] {
            let d = dataset(images: images, perImage: perImage)
            let (bytes, layout) = try COCOWriter.encodeWithLayout(d, file: "t.json", segmentation: .box)
            XCTAssertEqual(bytes, try COCOWriter.encode(d, segmentation: .box))
            XCTAssertEqual(layout.images.count, d.images.count)
            XCTAssertEqual(layout.annotations.count, d.annotations.count)
            XCTAssertEqual(String(decoding: bytes[layout.headerEnd...].prefix(11), as: UTF8.self), "\"images\": [")
            XCTAssertEqual(String(decoding: bytes[layout.tailStart...].prefix(16), as: UTF8.self), ",\n\"categories\": ")
            for k in [0, d.images.count / 2, d.images.count - 1] {
                let record = try JSONSerialization.jsonObject(with: Data(bytes[layout.images.range(k)])) as? [String: Any]
                XCTAssertEqual(record?["id"] as? Int, d.images[k].id)
            }
            for k in [0, 1, d.annotations.count - 1] {
                let record = try JSONSerialization.jsonObject(with: Data(bytes[layout.annotations.range(k)])) as? [String: Any]
                XCTAssertEqual(record?["id"] as? Int, d.annotations[k].id)
            }
        }
        var captioned = dataset(images: 2, perImage: 1)
        captioned.captions = [Caption(id: 1, imageId: 1, text: "a \"b\"\nc"), Caption(id: 2, imageId: 2, text: "d")]
        let (bytes, layout) = try COCOWriter.encodeCaptionsWithLayout(captioned, file: "c.json")
        XCTAssertEqual(bytes, try COCOWriter.encodeCaptions(captioned))
        XCTAssertEqual(String(decoding: bytes[layout.annotations.range(0)], as: UTF8.self), #"{"id": 1, "image_id": 1, "caption": "a \"b\"\nc"}"#)
        XCTAssertEqual(String(decoding: bytes[layout.tailStart...], as: UTF8.self), "\n}\n")
    }
}
