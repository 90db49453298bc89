import Foundation
import XCTest
@testable import Datasets

final class COCOWriterTests: XCTestCase {
    typealias T = COCOTestSupport

    func testExactLayoutOfASmallDataset() throws {
        let d = DetectionDataset(
            images: [ImageInfo(id: 1, fileName: "a b/\"c\".jpg", width: 640, height: 480)],
            annotations: [
                Annotation(id: 10, imageId: 1, categoryId: 18, bbox: BoundingBox(x: 473.07, y: 395.93, width: 38.65, height: 28), area: 702.1057499999998,
                           segmentation: RawJSON("[[1,2, 3,4,5,6]]")),
                Annotation(id: 11, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 10.0, height: 1e-5), area: 0.25, isCrowd: true,
                           difficult: false, truncated: true, score: 0.5, attribute: "easy"),
            ],
            categories: [Category(id: 18, name: "dog", supercategory: "animal"), Category(id: 1, name: "person")])
        let expected = """
        {
        "info": {"description": "DataEngine dataset", "version": "1.0"},
        "licenses": [],
        "images": [
        {"id": 1, "file_name": "a b/\\"c\\".jpg", "width": 640, "height": 480}
        ],
        "annotations": [
        {"id": 10, "image_id": 1, "category_id": 18, "bbox": [473.07, 395.93, 38.65, 28], "area": 702.1057499999998, "iscrowd": 0, "segmentation": [[1,2, 3,4,5,6]]},
        {"id": 11, "image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 1e-05], "area": 0.25, "iscrowd": 1, "score": 0.5, "attribute": "easy", "difficult": 0, "truncated": 1}
        ],
        "categories": [
        {"id": 18, "name": "dog", "supercategory": "animal"},
        {"id": 1, "name": "person"}
        ]
        }

        """
        XCTAssertEqual(String(decoding: try COCOWriter.encode(d), as: UTF8.self), expected)
        // Plain JSON that any parser reads.
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(COCOWriter.encode(d))))
    }

    func testEmptyDatasetIsValidJSON() throws {
        let text = String(decoding: try COCOWriter.encode(DetectionDataset()), as: UTF8.self)
        XCTAssertTrue(text.contains("\"images\": [],\n\"annotations\": [],\n\"categories\": []"), text)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["info", "licenses", "images", "annotations", "categories"])
    }

    func testFixtureRoundTripsFieldByFieldAndByteForByte() throws {
        let source = try COCOReader.load(instances: T.fixture("instances_tiny"))
        let dir = try T.tempDirectory(self)
        let first = dir.appendingPathComponent("out/instances.json")
        try COCOWriter.write(source, to: first)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: first.deletingLastPathComponent().path), ["instances.json"],
                       "no temp file left behind")

        let reloaded = try COCOReader.load(instances: first)
        XCTAssertEqual(reloaded.issues, [])
        XCTAssertEqual(reloaded.images, source.images)
        XCTAssertEqual(reloaded.categories, source.categories)
        XCTAssertEqual(reloaded.annotations.count, source.annotations.count)
        for (a, b) in zip(reloaded.annotations, source.annotations) {
            XCTAssertEqual(a.id, b.id)
            XCTAssertEqual(a.imageId, b.imageId)
            XCTAssertEqual(a.categoryId, b.categoryId)
            XCTAssertEqual(a.bbox, b.bbox, "bbox of \(a.id) exactly")
            XCTAssertEqual(a.area.bitPattern, b.area.bitPattern)
            XCTAssertEqual(a.isCrowd, b.isCrowd)
            XCTAssertEqual(a.segmentation.map { Array($0.bytes) }, b.segmentation.map { Array($0.bytes) }, "segmentation bytes of \(a.id)")
            XCTAssertEqual(a.score, b.score)
            XCTAssertEqual(a.attribute, b.attribute)
            XCTAssertEqual(a.difficult, b.difficult)
            XCTAssertEqual(a.truncated, b.truncated)
        }
        XCTAssertEqual(reloaded.info?.text, source.info?.text)
        XCTAssertEqual(reloaded.licenses?.text, source.licenses?.text)

        let second = dir.appendingPathComponent("again.json")
        try COCOWriter.write(reloaded, to: second)
        XCTAssertEqual(try Data(contentsOf: second), try Data(contentsOf: first), "write -> read -> write is byte-identical")
    }

    func testProvenanceScoreAndAttributeRoundTrip() throws {
        let provenance = Provenance(referenceImageId: 139, variant: 3, seed: 0xDEAD_BEEF_CAFE_F00D, encodeRatio: 0.45, guidance: 7,
                                    scheduler: "dpm++ 2m", steps: 30, tapTimestep: 261, prompt: "a dog, \u{1F415}, \"quoted\"\\ \u{7}")
        let partial = Provenance(referenceImageId: 139, variant: 0, seed: 0)
        let d = DetectionDataset(
            images: [ImageInfo(id: 5, fileName: "gen/5.jpg", width: 512, height: 512, provenance: provenance),
                     ImageInfo(id: 6, fileName: "gen/6.jpg", width: 512, height: 512, provenance: partial)],
            annotations: [Annotation(id: 1, imageId: 5, categoryId: 3, bbox: BoundingBox(x: 1.5, y: 2.25, width: 30.125, height: 40),
                                     score: 0.912345678901234, attribute: "unknown")],
            categories: [Category(id: 3, name: "car")])
        let bytes = try COCOWriter.encode(d)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#"{"id": 6, "file_name": "gen/6.jpg", "width": 512, "height": 512, "reference_image_id": 139, "variant": 0, "seed": "0"}"#), text)
        XCTAssertTrue(text.contains(#""seed": "16045690984503111693", "encode_ratio": 0.45, "guidance": 7, "scheduler": "dpm++ 2m""#), text)
        XCTAssertTrue(text.contains(#""prompt": "a dog, 🐕, \"quoted\"\\ \u0007"}"#), text)
        let back = try COCOReader.decode(instances: bytes, file: "x")
        XCTAssertEqual(back.images, d.images)
        XCTAssertEqual(back.annotations, d.annotations)
        XCTAssertEqual(try COCOWriter.encode(back), bytes)
    }

    /// Issue 19 item 13: pycocotools' mask functions and torchvision's wrapper need `segmentation`; an
    /// annotation without one gets the box as a polygon (or `[]`, or nothing), a real one is kept verbatim.
    func testMissingSegmentationIsFilledAsAsked() throws {
        let d = DetectionDataset(
            images: [ImageInfo(id: 1, fileName: "a.jpg", width: 64, height: 64)],
            annotations: [Annotation(id: 1, imageId: 1, categoryId: 3, bbox: BoundingBox(x: 1.5, y: 2.25, width: 30.125, height: 40)),
                          Annotation(id: 2, imageId: 1, categoryId: 3, bbox: BoundingBox(x: 0, y: 0, width: 2, height: 2),
                                     segmentation: RawJSON("[[0,0, 2,0, 1,2]]"))],
            categories: [Category(id: 3, name: "car")])
        func lines(_ fill: COCOWriter.SegmentationFill) throws -> [String] {
            String(decoding: try COCOWriter.encode(d, segmentation: fill), as: UTF8.self).split(separator: "\n").filter { $0.contains("\"image_id\"") }.map(String.init)
        }
        XCTAssertEqual(try lines(.box)[0], #"{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1.5, 2.25, 30.125, 40], "area": 1205, "iscrowd": 0, "segmentation": [[1.5, 2.25, 31.625, 2.25, 31.625, 42.25, 1.5, 42.25]]},"#)
        XCTAssertEqual(try lines(.empty)[0], #"{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1.5, 2.25, 30.125, 40], "area": 1205, "iscrowd": 0, "segmentation": []},"#)
        XCTAssertEqual(try lines(.omit)[0], #"{"id": 1, "image_id": 1, "category_id": 3, "bbox": [1.5, 2.25, 30.125, 40], "area": 1205, "iscrowd": 0},"#)
        for fill in [COCOWriter.SegmentationFill.box, .empty, .omit] {
            XCTAssertTrue(try lines(fill)[1].contains(#""segmentation": [[0,0, 2,0, 1,2]]"#), "a real segmentation is kept")
        }
        XCTAssertEqual(try COCOWriter.encode(d), try COCOWriter.encode(d, segmentation: .omit), "the library default writes no key")
        let back = try COCOReader.decode(instances: try COCOWriter.encode(d, segmentation: .box), file: "x")
        XCTAssertEqual(back.annotations[0].segmentation?.text, "[[1.5, 2.25, 31.625, 2.25, 31.625, 42.25, 1.5, 42.25]]")
    }

    /// Issue 19 item 14: a seed above 2^63 is written as a decimal string (BSON, Arrow, SQLite refuse the number,
    /// JavaScript rounds it); files with numeric seeds (written before) still read, and a bad string is an error.
    func testSeedIsADecimalStringAndReadsBackEitherWay() throws {
        let d = DetectionDataset(images: [ImageInfo(id: 5, fileName: "g.jpg", width: 8, height: 8,
                                                    provenance: Provenance(referenceImageId: 1, variant: 0, seed: UInt64.max))])
        let bytes = try COCOWriter.encode(d)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        XCTAssertEqual((object["images"] as? [[String: Any]])?.first?["seed"] as? String, "18446744073709551615")
        XCTAssertEqual(try COCOReader.decode(instances: bytes, file: "x").images[0].provenance?.seed, UInt64.max)
        func image(seed: String) -> [UInt8] {
            Array(#"{"images": [{"id": 5, "file_name": "g.jpg", "width": 8, "height": 8, "reference_image_id": 1, "variant": 0, "seed": \#(seed)}], "annotations": [], "categories": []}"#.utf8)
        }
        XCTAssertEqual(try COCOReader.decode(instances: image(seed: "16045690984503111693"), file: "x").images[0].provenance?.seed, 16045690984503111693)
        XCTAssertEqual(try COCOReader.decode(instances: image(seed: #""42""#), file: "x").images[0].provenance?.seed, 42)
        for bad in [#""12a""#, #""""#, #""-1""#, #""+1""#, #""18446744073709551616""#] {
            XCTAssertThrowsError(try COCOReader.decode(instances: image(seed: bad), file: "x.json"), bad) { error in
                XCTAssertTrue("\(error)".contains("x.json") && "\(error)".contains("image #0 (id 5)") && "\(error)".contains("seed"), "\(error)")
            }
        }
    }

    func testStringsAreEscapedAndUnicodeKept() throws {
        let names = ["plain", "quote \" backslash \\ slash /", "controls \u{0}\u{1}\u{8}\u{9}\u{A}\u{C}\u{D}\u{1F}\u{7F}", "ünïcødé 画像 😀"]
        let d = DetectionDataset(categories: names.enumerated().map { Category(id: $0.offset, name: $0.element) })
        let bytes = try COCOWriter.encode(d)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains(#""quote \" backslash \\ slash /""#), text)
        XCTAssertTrue(text.contains(#""controls \u0000\u0001\b\t\n\f\r\u001f"#), text)
        XCTAssertTrue(text.contains("\"ünïcødé 画像 😀\""), "non-ASCII is written as UTF-8, not escaped")
        XCTAssertEqual(try COCOReader.decode(instances: bytes, file: "x").categories.map(\.name), names)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let categories = try XCTUnwrap(object["categories"] as? [[String: Any]])
        XCTAssertEqual(categories.compactMap { $0["name"] as? String }, names)
    }

    func testNonFiniteNumbersThrowNamingTheRecord() {
        for bad in [Double.nan, .infinity, -.infinity] {
            let d = DetectionDataset(images: [ImageInfo(id: 1, fileName: "a", width: 9, height: 9)],
                                     annotations: [Annotation(id: 1, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1)),
                                                   Annotation(id: 2, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1), area: bad)])
            XCTAssertThrowsError(try COCOWriter.encode(d)) { error in
                let e = error as? DatasetError
                XCTAssertEqual(e?.location, "annotation #1 (id 2)")
                XCTAssertEqual(e?.message, "\"area\" is \(bad), which JSON cannot hold")
                XCTAssertNotNil(e?.hint)
            }
        }
        let box = DetectionDataset(annotations: [Annotation(id: 3, imageId: 1, categoryId: 1, bbox: BoundingBox(x: .nan, y: 0, width: 1, height: 1), area: 1)])
        XCTAssertThrowsError(try COCOWriter.encode(box)) { XCTAssertEqual(($0 as? DatasetError)?.message, "\"bbox\" is nan, which JSON cannot hold") }
        let guidance = DetectionDataset(images: [ImageInfo(id: 4, fileName: "a", width: 1, height: 1,
                                                           provenance: Provenance(referenceImageId: 1, variant: 0, seed: 1, guidance: .infinity))])
        XCTAssertThrowsError(try COCOWriter.encode(guidance)) { XCTAssertEqual(($0 as? DatasetError)?.location, "image #0 (id 4)") }
    }

    func testNumberFormatting() {
        var e = JSONEmitter()
        for v in [10.0, -0.0, 0.1, 473.07, 1e15, 123456789012345.5, 1e-7, -2.5, 2765.1486500000005, .leastNonzeroMagnitude, Double(Int64.max)] {
            e.double(v)
            e.raw(" ")
        }
        e.int(Int.min)
        e.raw(" ")
        e.uint(UInt64.max)
        XCTAssertEqual(String(decoding: e.bytes, as: UTF8.self),
                       "10 0 0.1 473.07 1000000000000000 123456789012345.5 1e-07 -2.5 2765.1486500000005 5e-324 9.223372036854776e+18 "
                       + "-9223372036854775808 18446744073709551615")
        XCTAssertFalse(e.double(.nan))
    }

    func testCaptionsRoundTrip() throws {
        let d = try COCOReader.load(instances: T.fixture("instances_tiny"), captions: T.fixture("captions_tiny"))
        let dir = try T.tempDirectory(self)
        let instances = dir.appendingPathComponent("instances.json"), captions = dir.appendingPathComponent("captions.json")
        try COCOWriter.write(d, to: instances)
        try COCOWriter.writeCaptions(d, to: captions)
        let text = try String(contentsOf: captions, encoding: .utf8)
        XCTAssertTrue(text.contains(#"{"id": 10, "image_id": 7, "caption": "Un café « crème » avec un \"chien\" 🐕\n"}"#), text)
        XCTAssertTrue(text.contains(#""images": ["#), "pycocotools wants the images list in a captions file too")
        let back = try COCOReader.load(instances: instances, captions: captions)
        XCTAssertEqual(back.captions, d.captions)
        XCTAssertEqual(back.issues, [])
        XCTAssertEqual(try COCOWriter.encodeCaptions(back), try Array(Data(contentsOf: captions)))
    }
}

/// Large lists are encoded in parallel chunks: the bytes are those of the one-thread encoding.
final class COCOWriterParallelListTests: XCTestCase {
    func testParallelChunksGiveTheSameBytesAsOneThread() throws {
        var annotations: [Annotation] = []
        for k in 0..<50_001 {
            let box = BoundingBox(x: Double(k % 300) / 3, y: 1.5, width: Double(k % 17) + 0.25, height: 7)
            let score: Double? = k % 3 == 0 ? Double(k % 1000) / 1000 : nil
            let attribute: String? = k % 2 == 0 ? "easy" : nil
            annotations.append(Annotation(id: k + 1, imageId: k % 97 + 1, categoryId: k % 5 + 1, bbox: box, score: score, attribute: attribute))
        }
        var parallel = JSONEmitter(), serial = JSONEmitter()
        try COCOWriter.parallelList("annotations", annotations, into: &parallel) { out, i, a in
            try COCOWriter.annotation(a, index: i, file: "test", into: &out)
        }
        try COCOWriter.list("annotations", annotations, into: &serial) { out, i, a in
            try COCOWriter.annotation(a, index: i, file: "test", into: &out)
        }
        XCTAssertGreaterThan(serial.bytes.count, 1_000_000)
        XCTAssertEqual(parallel.bytes, serial.bytes)
    }
}
