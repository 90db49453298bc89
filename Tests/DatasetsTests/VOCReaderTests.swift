import Foundation
import XCTest
@testable import Datasets

/// The tiny VOCdevkit under Fixtures/voc and scratch folders for tests that need their own files.
enum VOCFixture {
    static var devkit: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("voc")
    }

    static func scratchDirectory(_ name: String = #function) throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("dataengine-voc-tests-\(getpid())")
            .appendingPathComponent(name.filter { $0.isLetter || $0.isNumber })
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func write(_ text: String, _ path: String, under root: URL) throws {
        let url = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: false, encoding: .utf8)
    }
}

final class VOCReaderTests: XCTestCase {
    private func issues(_ d: DetectionDataset, _ kind: LoadIssue.Kind) -> [LoadIssue] { d.issues.filter { $0.kind == kind } }

    func testDefaultClassesAreVOCsTwentyInStandardOrder() {
        XCTAssertEqual(VOCReader.defaultClasses.count, 20)
        XCTAssertEqual(VOCReader.defaultClasses.first, "aeroplane")
        XCTAssertEqual(VOCReader.defaultClasses[14], "person")
        XCTAssertEqual(VOCReader.defaultClasses.last, "tvmonitor")
    }

    func testTrainvalImagesCategoriesAndConvertedBoxes() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/trainval"])
        XCTAssertEqual(d.categories.count, 20)
        XCTAssertEqual(d.categories[11], Category(id: 12, name: "dog"))
        // 000004 has no XML: id 4 is not used.
        XCTAssertEqual(d.images, [
            ImageInfo(id: 1, fileName: "VOC2007/JPEGImages/000001.jpg", width: 353, height: 500),
            ImageInfo(id: 2, fileName: "VOC2007/JPEGImages/000002.jpg", width: 335, height: 500),
            ImageInfo(id: 3, fileName: "VOC2007/JPEGImages/000003.jpg", width: 500, height: 375),
        ])
        XCTAssertEqual(d.annotations.map(\.id), [1, 2, 3, 4, 5])
        XCTAssertEqual(d.annotations.map(\.imageId), [1, 1, 2, 2, 3])
        XCTAssertEqual(d.annotations.map(\.categoryId), [12, 15, 19, 7, 18])  // dog, person, train, car, sofa

        let dog = d.annotations[0]
        XCTAssertEqual(dog.bbox, BoundingBox(x: 47, y: 239, width: 148, height: 132))  // 48 240 195 371
        XCTAssertEqual(dog.area, 148 * 132)
        XCTAssertEqual(dog.truncated, true)
        XCTAssertEqual(dog.difficult, false)
        XCTAssertFalse(dog.isCrowd)
        XCTAssertNil(dog.segmentation)
        XCTAssertNil(dog.score)
        XCTAssertEqual(d.annotations[1].difficult, true)
        XCTAssertEqual(d.annotations[1].bbox, BoundingBox(x: 7, y: 11, width: 345, height: 487))
    }

    func testFloatCoordinatesAndMissingFlags() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/val"])
        XCTAssertEqual(d.annotations.count, 1)
        let sofa = d.annotations[0]
        // 10.5 20.25 30.75 40.5
        XCTAssertEqual(sofa.bbox, BoundingBox(x: 9.5, y: 19.25, width: 21.25, height: 21.25))
        XCTAssertEqual(sofa.area, 21.25 * 21.25)
        XCTAssertEqual(sofa.difficult, false, "a missing <difficult> reads as false, as in the VOC devkit")
        XCTAssertEqual(sofa.truncated, false)
    }

    func testBoxesOutsideTheImageAreClippedOrDropped() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train"])
        let car = d.annotations.first { $0.categoryId == 7 }
        // 300 0 340 50 in a 335x500 image: x 299...340 clipped to 335, y -1 clipped to 0.
        XCTAssertEqual(car?.bbox, BoundingBox(x: 299, y: 0, width: 36, height: 50))
        XCTAssertEqual(car?.area, 36 * 50)
        let clipped = issues(d, .boxClipped)
        XCTAssertEqual(clipped.count, 1)
        XCTAssertEqual(clipped.first?.record, "image 000002, object 2")
        XCTAssertTrue(clipped.first?.message.contains("xmax 340") ?? false, clipped.first?.message ?? "")
        XCTAssertTrue(clipped.first?.file.hasSuffix("VOC2007/Annotations/000002.xml") ?? false)
        let dropped = issues(d, .boxDropped)
        XCTAssertEqual(dropped.map(\.record), ["image 000002, object 3", "image 000002, object 4"])
        XCTAssertTrue(dropped[0].message.contains("outside"))
        XCTAssertTrue(dropped[1].message.contains("xmax < xmin"))
        XCTAssertEqual(d.annotations.filter { $0.imageId == 2 }.count, 2)
    }

    func testMissingAnnotationFileIsSkippedWithAnIssue() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/val"])
        XCTAssertEqual(d.images.map(\.id), [1])
        let missing = issues(d, .missingImage)
        XCTAssertEqual(missing.count, 1)
        XCTAssertEqual(missing.first?.record, "image 000004")
        XCTAssertTrue(missing.first?.message.contains("VOC2007/Annotations/000004.xml") ?? false)
    }

    func testUnknownClassesAreSkippedWithSuggestions() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2012/train"])
        let unknown = issues(d, .unknownClass)
        XCTAssertEqual(unknown.map(\.record), ["image 2012_000001, object 1", "image 2012_000001, object 3"])
        XCTAssertTrue(unknown[0].message.contains("\"aeroplan\""))
        XCTAssertTrue(unknown[0].message.contains("Did you mean \"aeroplane\"?"), unknown[0].message)
        XCTAssertTrue(unknown[0].message.contains("tvmonitor"), "lists the valid classes")
        XCTAssertTrue(unknown[1].message.contains("\"zebra\""))
        XCTAssertFalse(unknown[1].message.contains("Did you mean"), "no suggestion when nothing is close")
        XCTAssertTrue(unknown[0].file.hasSuffix("VOC2012/Annotations/2012_000001.xml"))
        // The person is kept, with its own box rather than its head <part>'s.
        XCTAssertEqual(d.annotations.count, 1)
        XCTAssertEqual(d.annotations[0].categoryId, 15)
        XCTAssertEqual(d.annotations[0].bbox, BoundingBox(x: 119, y: 49, width: 81, height: 251))
        XCTAssertEqual(d.images.first?.width, 500)
        XCTAssertEqual(d.images.first?.height, 333)
    }

    func testMalformedXMLAndMissingSizeSkipTheImage() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2012/train", "VOC2012/val"])
        // 2012_000002 is malformed, 2012_000003 has no <size>: their ids (2, 3) stay unused.
        XCTAssertEqual(d.images.map(\.id), [1, 4])
        XCTAssertEqual(d.images.map(\.fileName), ["VOC2012/JPEGImages/2012_000001.jpg", "VOC2012/JPEGImages/2012_000004.jpg"])
        let malformed = issues(d, .malformedRecord)
        XCTAssertEqual(malformed.map(\.record), ["image 2012_000002", "image 2012_000003"])
        XCTAssertTrue(malformed[0].message.contains("line 13, column 12"), malformed[0].message)
        XCTAssertTrue(malformed[0].message.contains("</ymin>"))
        XCTAssertTrue(malformed[1].message.contains("no <size>"))
        XCTAssertTrue(malformed[1].message.contains("real size"))
        XCTAssertFalse(d.annotations.contains { $0.imageId == 2 || $0.imageId == 3 })
    }

    func testImageIdsRunOverSplitsInTheOrderGiven() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2012/val", "VOC2007/train"])
        XCTAssertEqual(d.images.map(\.id), [1, 2, 3])
        XCTAssertEqual(d.images.map(\.fileName),
                       ["VOC2012/JPEGImages/2012_000004.jpg", "VOC2007/JPEGImages/000001.jpg", "VOC2007/JPEGImages/000002.jpg"])
        XCTAssertEqual(d.annotations.map(\.id), Array(1...5))
        XCTAssertEqual(d.annotations.map(\.imageId), [1, 2, 2, 3, 3])
        XCTAssertTrue(d.issues.allSatisfy { $0.file.contains("VOC2007/Annotations/000002.xml") })
    }

    func testSplitNamesMayEndInTxt() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train.txt"])
        XCTAssertEqual(d.images.count, 2)
    }

    func testOverlappingSplitsAreAnError() {
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train", "VOC2007/trainval"])) { error in
            let e = error as? DatasetError
            XCTAssertNotNil(e)
            XCTAssertTrue(e?.message.contains("000001") ?? false, e?.message ?? "")
            XCTAssertTrue(e?.message.contains("VOC2007/train (line 1)") ?? false, e?.message ?? "")
            XCTAssertTrue(e?.message.contains("VOC2007/trainval (line 1)") ?? false, e?.message ?? "")
            XCTAssertTrue(e?.hint?.contains("overlap") ?? false)
        }
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2012/val", "VOC2012/val"])) { error in
            XCTAssertTrue((error as? DatasetError)?.message.contains("twice in VOC2012/val") ?? false, "\(error)")
        }
    }

    func testMissingSplitListsTheSplitsThatExist() {
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/test"])) { error in
            let e = error as? DatasetError
            XCTAssertTrue(e?.file.hasSuffix("VOC2007/ImageSets/Main/test.txt") ?? false, e?.file ?? "")
            XCTAssertEqual(e?.hint, "splits that exist there: VOC2007/train, VOC2007/trainval, VOC2007/val")
        }
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2010/train"])) { error in
            XCTAssertEqual((error as? DatasetError)?.hint, "year folders here: VOC2007, VOC2012")
        }
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit.appendingPathComponent("VOC2007"),
                                                splits: ["VOC2007/train"])) { error in
            XCTAssertTrue((error as? DatasetError)?.hint?.contains("pass its parent") ?? false, "\(error)")
        }
    }

    func testBadSplitNamesAndPerClassListsAreErrors() {
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["trainval"])) { error in
            let e = error as? DatasetError
            XCTAssertTrue(e?.message.contains("YEAR/SPLIT") ?? false)
            XCTAssertTrue(e?.hint?.contains("VOC2007, VOC2012") ?? false, e?.hint ?? "")
        }
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/../VOC2012"]))
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: []))
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/aeroplane_train"])) { error in
            let e = error as? DatasetError
            XCTAssertEqual(e?.location, "line 1")
            XCTAssertTrue(e?.hint?.contains("per-class") ?? false)
        }
    }

    func testCustomClassesSetCategoryIds() throws {
        let d = try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train"], classes: ["person", "dog"])
        XCTAssertEqual(d.categories, [Category(id: 1, name: "person"), Category(id: 2, name: "dog")])
        XCTAssertEqual(d.annotations.map(\.categoryId), [2, 1])
        // 000002's train, car, car and bus: the class is checked before the box.
        XCTAssertEqual(issues(d, .unknownClass).count, 4)
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train"], classes: ["dog", "dog"]))
        XCTAssertThrowsError(try VOCReader.load(devkit: VOCFixture.devkit, splits: ["VOC2007/train"], classes: []))
    }

    func testLoadingIsDeterministic() throws {
        let splits = ["VOC2007/trainval", "VOC2012/train", "VOC2012/val"]
        let a = try VOCReader.load(devkit: VOCFixture.devkit, splits: splits)
        let b = try VOCReader.load(devkit: VOCFixture.devkit, splits: splits)
        XCTAssertEqual(a.images, b.images)
        XCTAssertEqual(a.annotations, b.annotations)
        XCTAssertEqual(a.issues, b.issues)
        XCTAssertEqual(a.images.count, 5)
    }

    func testUnsafeStemsFlagsScoresAndAttributes() throws {
        let root = try VOCFixture.scratchDirectory()
        try VOCFixture.write("a\n../../etc/passwd\n.hidden\n", "VOC2099/ImageSets/Main/x.txt", under: root)
        try VOCFixture.write("""
            <annotation><size><width>10</width><height>10.0</height></size>
            <object><name> dog\t</name><difficult>true</difficult><truncated>maybe</truncated>
              <bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox>
              <score>0.25</score><attribute>hard</attribute></object>
            <object><name>cat</name><bndbox><xmin>1</xmin><ymin>a</ymin><xmax>5</xmax></bndbox></object>
            <object><bndbox/></object>
            </annotation>
            """, "VOC2099/Annotations/a.xml", under: root)
        let d = try VOCReader.load(devkit: root, splits: ["VOC2099/x"])
        XCTAssertEqual(d.images.map(\.height), [10])
        XCTAssertEqual(d.issues.filter { $0.kind == .unsafePath }.map(\.record), ["line 2", "line 3"])
        XCTAssertEqual(d.annotations.count, 1)
        let dog = d.annotations[0]
        XCTAssertEqual(dog.difficult, true)
        XCTAssertEqual(dog.truncated, false, "an unreadable flag reads as 0")
        XCTAssertEqual(dog.score, 0.25)
        XCTAssertEqual(dog.attribute, "hard")
        let malformed = issues(d, .malformedRecord).map(\.message)
        XCTAssertEqual(malformed.count, 3)
        XCTAssertTrue(malformed[0].contains("\"maybe\""))
        XCTAssertTrue(malformed[1].contains("<ymin> \"a\"") && malformed[1].contains("no <ymax>"), malformed[1])
        XCTAssertTrue(malformed[2].contains("no <name>"))
        XCTAssertTrue(malformed[2].contains("(line 6)"), malformed[2])
    }

    func testWrongRootElementAndZeroSize() throws {
        let root = try VOCFixture.scratchDirectory()
        try VOCFixture.write("a\nb\n", "VOC2099/ImageSets/Main/x.txt", under: root)
        try VOCFixture.write("<html/>", "VOC2099/Annotations/a.xml", under: root)
        try VOCFixture.write("<annotation><size><width>0</width><height>5</height></size></annotation>",
                             "VOC2099/Annotations/b.xml", under: root)
        let d = try VOCReader.load(devkit: root, splits: ["VOC2099/x"])
        XCTAssertTrue(d.images.isEmpty)
        let messages = issues(d, .malformedRecord).map(\.message)
        XCTAssertEqual(messages.count, 2)
        XCTAssertTrue(messages[0].contains("<html>"))
        XCTAssertTrue(messages[1].contains("width \"0\""), messages[1])
    }

    func testNearestNameSuggestions() {
        XCTAssertEqual(NearestName.editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(NearestName.editDistance("", "abc"), 3)
        XCTAssertEqual(NearestName.suggestion(for: "tvmonitr", among: VOCReader.defaultClasses), "tvmonitor")
        XCTAssertEqual(NearestName.suggestion(for: "Dog", among: VOCReader.defaultClasses), "dog")
        XCTAssertEqual(NearestName.suggestion(for: "motorbikes", among: VOCReader.defaultClasses), "motorbike")
        XCTAssertNil(NearestName.suggestion(for: "giraffe", among: VOCReader.defaultClasses))
    }
}
