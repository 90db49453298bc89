import Foundation
import XCTest
@testable import Datasets

final class VOCWriterTests: XCTestCase {
    private let categories = [Category(id: 1, name: "cat"), Category(id: 2, name: "fish & chips")]

    func testAnnotationXMLHasTheVOCLayout() {
        let image = ImageInfo(id: 7, fileName: "VOC2007/JPEGImages/000005.jpg", width: 500, height: 375)
        let a = Annotation(id: 1, imageId: 7, categoryId: 1, bbox: BoundingBox(x: 262, y: 210, width: 62, height: 129),
                           difficult: true, truncated: false)
        let b = Annotation(id: 2, imageId: 7, categoryId: 2, bbox: BoundingBox(x: 9.5, y: 0, width: 0.25, height: 3),
                           score: 0.93, attribute: "easy")
        let xml = VOCWriter.annotationXML(for: image, annotations: [a, b], categories: categories, folder: "VOC2007")
        XCTAssertEqual(xml, """
            <annotation>
            \t<folder>VOC2007</folder>
            \t<filename>000005.jpg</filename>
            \t<size>
            \t\t<width>500</width>
            \t\t<height>375</height>
            \t\t<depth>3</depth>
            \t</size>
            \t<segmented>0</segmented>
            \t<object>
            \t\t<name>cat</name>
            \t\t<pose>Unspecified</pose>
            \t\t<truncated>0</truncated>
            \t\t<difficult>1</difficult>
            \t\t<bndbox>
            \t\t\t<xmin>263</xmin>
            \t\t\t<ymin>211</ymin>
            \t\t\t<xmax>324</xmax>
            \t\t\t<ymax>339</ymax>
            \t\t</bndbox>
            \t</object>
            \t<object>
            \t\t<name>fish &amp; chips</name>
            \t\t<pose>Unspecified</pose>
            \t\t<truncated>0</truncated>
            \t\t<difficult>0</difficult>
            \t\t<bndbox>
            \t\t\t<xmin>11</xmin>
            \t\t\t<ymin>1</ymin>
            \t\t\t<xmax>12</xmax>
            \t\t\t<ymax>3</ymax>
            \t\t</bndbox>
            \t\t<score>0.93</score>
            \t\t<attribute>easy</attribute>
            \t</object>
            </annotation>

            """)
    }

    func testUnknownCategoryIsNamedByItsId() {
        let image = ImageInfo(id: 1, fileName: "x.jpg", width: 10, height: 10)
        let a = Annotation(id: 1, imageId: 1, categoryId: 9, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1))
        XCTAssertTrue(VOCWriter.annotationXML(for: image, annotations: [a], categories: categories, folder: "F")
            .contains("<name>category-9</name>"))
    }

    /// Issue 19 item 11: VOC holds integer pixels (torchvision's VOC wrapper and `int(text)` readers refuse
    /// `53.125534`); each edge is rounded, kept inside the image, and xmax > xmin, ymax > ymin.
    func testBoxesAreWrittenAsIntegerPixelsInsideTheImage() throws {
        let image = ImageInfo(id: 1, fileName: "g.jpg", width: 100, height: 50)
        let boxes = [BoundingBox(x: 52.125534, y: 10.4, width: 30.3, height: 20.6),   // 53 11 82 31
                     BoundingBox(x: 99.6, y: 49.7, width: 0.3, height: 0.2),          // sub-pixel in the corner: 99 49 100 50
                     BoundingBox(x: -3.2, y: 0.49, width: 120, height: 0.02),         // clamped, widened: 1 1 100 2
                     BoundingBox(x: 10.5, y: 20.5, width: 1, height: 1.49)]           // halves away from zero, widened: 12 22 13 23
        let annotations = boxes.enumerated().map { Annotation(id: $0.offset, imageId: 1, categoryId: 1, bbox: $0.element) }
        let xml = VOCWriter.annotationXML(for: image, annotations: annotations, categories: categories, folder: "VOC2007")
        func values(_ tag: String) -> [String] {
            xml.components(separatedBy: "<\(tag)>").dropFirst().map { String($0.prefix { $0 != "<" }) }
        }
        let corners = ["xmin", "ymin", "xmax", "ymax"].map { tag in values(tag).map { Int($0) } }
        XCTAssertFalse(corners.joined().contains(nil), "every coordinate is an integer:\n\(xml)")
        let c = corners.map { $0.compactMap { $0 } }
        XCTAssertEqual(c[0], [53, 99, 1, 12])
        XCTAssertEqual(c[1], [11, 49, 1, 22])
        XCTAssertEqual(c[2], [82, 100, 100, 13])
        XCTAssertEqual(c[3], [31, 50, 2, 23])
        guard c.allSatisfy({ $0.count == boxes.count }) else { return }
        for k in 0..<boxes.count {
            XCTAssertGreaterThan(c[2][k], c[0][k])
            XCTAssertGreaterThan(c[3][k], c[1][k])
            XCTAssertTrue(c[0][k] >= 1 && c[2][k] <= 100 && c[1][k] >= 1 && c[3][k] <= 50)
        }
        let n = VOCCoordinates.integerCorners(of: BoundingBox(x: .nan, y: 0, width: 1, height: .infinity), width: 1, height: 7)
        XCTAssertEqual([n.xmin, n.ymin, n.xmax, n.ymax], [1, 1, 1, 2], "no trap on non-finite input")
    }

    func testCoordinateFormatting() {
        XCTAssertEqual(VOCCoordinates.format(48), "48")
        XCTAssertEqual(VOCCoordinates.format(-0.0), "0")
        XCTAssertEqual(VOCCoordinates.format(48.3), "48.3")
        XCTAssertEqual(VOCCoordinates.format(47.3 + 1), "48.3")
        XCTAssertEqual(VOCCoordinates.format(0.1 + 0.2), "0.3")
        XCTAssertEqual(VOCCoordinates.format(12.0000000001), "12")
        let c = VOCCoordinates.corners(of: VOCCoordinates.box(xmin: 48, ymin: 240, xmax: 195, ymax: 371))
        XCTAssertEqual([c.xmin, c.ymin, c.xmax, c.ymax], [48, 240, 195, 371])
    }

    func testImageSetFile() throws {
        let dir = try VOCFixture.scratchDirectory()
        let url = dir.appendingPathComponent("Main/train.txt")
        try VOCWriter.writeImageSet(stems: ["000001", "2008_000002"], to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "000001\n2008_000002\n")
        XCTAssertThrowsError(try VOCWriter.writeImageSet(stems: ["ok", "has space"], to: url))
        XCTAssertThrowsError(try VOCWriter.writeImageSet(stems: ["../x"], to: url))
        XCTAssertThrowsError(try VOCWriter.writeImageSet(stems: [""], to: url))
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "000001\n2008_000002\n", "a refused list writes nothing")
    }

    /// VOC -> model -> VOC -> model gives the same records.
    func testRoundTripThroughTheFixtureDevkit() throws {
        for split in ["VOC2007/train", "VOC2007/val", "VOC2012/train", "VOC2012/val"] {
            let original = try VOCReader.load(devkit: VOCFixture.devkit, splits: [split])
            let year = String(split.split(separator: "/")[0])
            let root = try VOCFixture.scratchDirectory("roundtrip" + split)
            let stems = try VOCWriter.write(original, to: root, year: year, split: "out")
            XCTAssertEqual(stems, original.images.map { VOCWriter.stemOf($0.fileName) })
            let again = try VOCReader.load(devkit: root, splits: ["\(year)/out"])
            XCTAssertEqual(again.categories, original.categories, split)
            XCTAssertEqual(again.images.map(\.fileName), original.images.map(\.fileName), split)
            XCTAssertEqual(again.images.map(\.width), original.images.map(\.width), split)
            XCTAssertEqual(again.images.map(\.height), original.images.map(\.height), split)
            // Ids are list positions: the rewritten list has no skipped images, so renumber the original's.
            var renumber: [Int: Int] = [:]
            for (k, image) in original.images.enumerated() { renumber[image.id] = k + 1 }
            // VOC holds integer pixels: the fixture's fractional boxes come back rounded.
            let sizes = Dictionary(uniqueKeysWithValues: original.images.map { ($0.id, ($0.width, $0.height)) })
            let expected = original.annotations.map { a -> Annotation in
                var a = a
                let (w, h) = sizes[a.imageId]!
                let c = VOCCoordinates.integerCorners(of: a.bbox, width: w, height: h)
                a.bbox = VOCCoordinates.box(xmin: Double(c.xmin), ymin: Double(c.ymin), xmax: Double(c.xmax), ymax: Double(c.ymax))
                a.area = a.bbox.area
                a.imageId = renumber[a.imageId]!
                return a
            }
            XCTAssertEqual(again.annotations, expected, split)
            XCTAssertTrue(again.issues.isEmpty, "\(split): \(again.issues)")
        }
    }

    func testRoundTripKeepsScoresAttributesAndRoundsBoxes() throws {
        let dataset = DetectionDataset(
            images: [ImageInfo(id: 1, fileName: "gen/000001_v0.jpg", width: 64, height: 48)],
            annotations: [
                Annotation(id: 1, imageId: 1, categoryId: 2, bbox: BoundingBox(x: 0.1, y: 2.7, width: 10.35, height: 20.2),
                           difficult: false, truncated: true, score: 0.123456789012, attribute: "hard"),
                Annotation(id: 2, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 64, height: 48),
                           difficult: nil, truncated: nil, score: 1, attribute: "unknown"),
            ],
            categories: categories)
        let root = try VOCFixture.scratchDirectory()
        try VOCWriter.write(dataset, to: root, year: "VOCDE", split: "train")
        let xml1 = try String(contentsOf: root.appendingPathComponent("VOCDE/Annotations/000001_v0.xml"), encoding: .utf8)
        let back = try VOCReader.load(devkit: root, splits: ["VOCDE/train"], classes: ["cat", "fish & chips"])
        XCTAssertEqual(back.images.first?.fileName, "VOCDE/JPEGImages/000001_v0.jpg")
        XCTAssertEqual(back.annotations.map(\.score), [0.123456789012, 1])
        XCTAssertEqual(back.annotations.map(\.attribute), ["hard", "unknown"])
        XCTAssertEqual(back.annotations.map(\.categoryId), [2, 1])
        XCTAssertEqual(back.annotations[0].truncated, true)
        // nil flags are written as 0 and so read back as false.
        XCTAssertEqual(back.annotations[1].difficult, false)
        // Edges rounded to whole pixels: x 0.1...10.45 -> 0...10, y 2.7...22.9 -> 3...23.
        XCTAssertEqual(back.annotations[0].bbox, BoundingBox(x: 0, y: 3, width: 10, height: 20))
        // Writing what was read gives the same bytes again.
        let root2 = try VOCFixture.scratchDirectory("again")
        var relabelled = back
        relabelled.images[0].fileName = "gen/000001_v0.jpg"
        try VOCWriter.write(relabelled, to: root2, year: "VOCDE", split: "train")
        let xml2 = try String(contentsOf: root2.appendingPathComponent("VOCDE/Annotations/000001_v0.xml"), encoding: .utf8)
        XCTAssertEqual(xml1, xml2)
    }

    func testDatasetWriteRefusesWhatVOCCannotHold() throws {
        let root = try VOCFixture.scratchDirectory()
        let twins = DetectionDataset(images: [ImageInfo(id: 1, fileName: "a/x.jpg", width: 1, height: 1),
                                              ImageInfo(id: 2, fileName: "b/x.png", width: 1, height: 1)])
        XCTAssertThrowsError(try VOCWriter.write(twins, to: root, year: "V", split: "s")) { error in
            XCTAssertTrue((error as? DatasetError)?.message.contains("same stem x") ?? false, "\(error)")
        }
        let strayCategory = DetectionDataset(
            images: [ImageInfo(id: 1, fileName: "x.jpg", width: 5, height: 5)],
            annotations: [Annotation(id: 3, imageId: 1, categoryId: 4, bbox: BoundingBox(x: 0, y: 0, width: 1, height: 1))],
            categories: categories)
        XCTAssertThrowsError(try VOCWriter.write(strayCategory, to: root, year: "V", split: "s")) { error in
            XCTAssertEqual((error as? DatasetError)?.location, "annotation id 3")
        }
        XCTAssertThrowsError(try VOCWriter.write(DetectionDataset(), to: root, year: "../V", split: "s"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("V").path), "nothing written")
    }

    func testStemOf() {
        XCTAssertEqual(VOCWriter.stemOf("VOC2007/JPEGImages/000005.jpg"), "000005")
        XCTAssertEqual(VOCWriter.stemOf("a.b.jpg"), "a.b")
        XCTAssertEqual(VOCWriter.stemOf("noext"), "noext")
    }
}
