import Foundation
import XCTest
@testable import Datasets
@testable import Statistics

/// A reference and an output dataset small enough to count by hand.
enum StatisticsFixture {
    static let categories = [Category(id: 1, name: "cat"), Category(id: 2, name: "dog"),
                             Category(id: 5, name: "fish, \"chips\" & <peas> | more")]

    static func box(_ x: Double, _ y: Double, _ w: Double, _ h: Double) -> BoundingBox {
        BoundingBox(x: x, y: y, width: w, height: h)
    }

    /// 3 images (one without annotations), 3 instances (cat 2, dog 1), 1 crowd.
    static let reference = DetectionDataset(
        images: [ImageInfo(id: 1, fileName: "1.jpg", width: 100, height: 100),
                 ImageInfo(id: 2, fileName: "2.jpg", width: 50, height: 50),
                 ImageInfo(id: 3, fileName: "3.jpg", width: 10, height: 10)],
        annotations: [
            Annotation(id: 1, imageId: 1, categoryId: 1, bbox: box(0, 0, 10, 10)),    // area 100: small
            Annotation(id: 2, imageId: 1, categoryId: 2, bbox: box(10, 10, 40, 40)),  // 1600: medium
            Annotation(id: 3, imageId: 2, categoryId: 1, bbox: box(0, 0, 50, 50)),    // 2500: medium
            Annotation(id: 4, imageId: 2, categoryId: 1, bbox: box(0, 0, 5, 5), isCrowd: true),
        ],
        categories: categories)

    /// 5 images, 9 annotations: 8 instances (cat 3, dog 2, fish 2, unknown category 1) and 1 crowd.
    static let output = DetectionDataset(
        images: [ImageInfo(id: 1, fileName: "1.jpg", width: 100, height: 100),
                 ImageInfo(id: 2, fileName: "2.jpg", width: 50, height: 50),
                 ImageInfo(id: 3, fileName: "3.jpg", width: 200, height: 100),
                 ImageInfo(id: 4, fileName: "4.jpg", width: 30, height: 30),    // no annotations
                 ImageInfo(id: 5, fileName: "5.jpg", width: 20, height: 20)],   // only a crowd annotation
        annotations: [
            Annotation(id: 1, imageId: 1, categoryId: 1, bbox: box(0, 0, 10, 10), difficult: true, score: 0.05, attribute: "easy"),
            Annotation(id: 2, imageId: 1, categoryId: 1, bbox: box(20, 20, 20, 20), score: 0.95, attribute: "hard"),
            // 0.4 px left of the image: within the 0.5 px tolerance.
            Annotation(id: 3, imageId: 2, categoryId: 2, bbox: box(-0.4, 0, 50.4, 50), score: 1.0, attribute: "unknown"),
            // Right edge at 210 in a 200 px wide image: outside.
            Annotation(id: 4, imageId: 3, categoryId: 2, bbox: box(150, 50, 60, 50), score: 0.3),
            // Bottom edge at 110 in a 100 px high image: outside. Score out of range.
            Annotation(id: 5, imageId: 3, categoryId: 5, bbox: box(10, 10, 100, 100), score: 1.5, attribute: "weird"),
            Annotation(id: 6, imageId: 3, categoryId: 1, bbox: box(5, 5, 0, 10), truncated: true),  // zero area
            Annotation(id: 7, imageId: 5, categoryId: 1, bbox: box(0, 0, 20, 20), isCrowd: true),
            Annotation(id: 8, imageId: 99, categoryId: 5, bbox: box(0, 0, 10, 10)),  // unknown image
            Annotation(id: 9, imageId: 1, categoryId: 7, bbox: box(0, 0, 10, 10)),  // unknown category
        ],
        categories: categories)

    static var stats: DatasetStatistics {
        DatasetStatistics(dataset: output, name: "Out", reference: reference, referenceName: "Ref")
    }
}

final class StatisticsTests: XCTestCase {
    func testTable1RowsAndScale() {
        let s = StatisticsFixture.stats
        XCTAssertEqual(s.table.map(\.dataset), ["Ref", "Out"])
        XCTAssertEqual(s.table.map(\.images), [2, 3])
        XCTAssertEqual(s.table.map(\.instances), [3, 8])
        XCTAssertNil(s.table[0].imageScale)
        XCTAssertEqual(s.table[1].imageScale ?? 0, 1.5, accuracy: 1e-12)
        XCTAssertEqual(s.table[1].instanceScale ?? 0, 8.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(s.tableCells(), [["Ref", "2", "-", "3", "-"], ["Out", "3", "1.5x", "8", "2.7x"]])
    }

    func testTable1ScaleWithThePapersNumbers() {
        XCTAssertEqual(StatisticsFormat.scale(1_281_418, 849_949), "1.5x")
        XCTAssertEqual(StatisticsFormat.scale(64_934, 16_551), "3.9x")
        XCTAssertEqual(StatisticsFormat.scale(168_141, 47_223), "3.6x")
        // The paper prints 1.7x here (205,287 / 117,266 = 1.7506); to the nearest tenth it is 1.8x.
        XCTAssertEqual(StatisticsFormat.scale(205_287, 117_266), "1.8x")
        XCTAssertEqual(StatisticsFormat.scale(5, 0), "-")
        XCTAssertEqual(StatisticsFormat.grouped(1_281_418), "1,281,418")
        XCTAssertEqual(StatisticsFormat.grouped(999), "999")
        XCTAssertEqual(StatisticsFormat.grouped(-1000), "-1,000")
    }

    func testPerCategoryCountsAndGain() {
        let rows = StatisticsFixture.stats.categories
        XCTAssertEqual(rows.map(\.id), [1, 2, 5])
        XCTAssertEqual(rows.map(\.name), ["cat", "dog", "fish, \"chips\" & <peas> | more"])
        XCTAssertEqual(rows.map(\.referenceInstances), [2, 1, 0])
        XCTAssertEqual(rows.map(\.instances), [3, 2, 2])  // crowd annotation 7 not counted
        XCTAssertEqual(rows.map(\.referenceImages), [2, 1, 0])
        XCTAssertEqual(rows.map(\.images), [2, 2, 2])
        XCTAssertEqual(rows.map(\.gain), [1.5, 2.0, nil])
    }

    func testCategoriesOnlyTheReferenceHasAreListed() {
        var reference = StatisticsFixture.reference
        reference.categories.append(Category(id: 3, name: "bird"))
        reference.annotations.append(Annotation(id: 10, imageId: 1, categoryId: 3, bbox: StatisticsFixture.box(0, 0, 2, 2)))
        let s = DatasetStatistics(dataset: StatisticsFixture.output, name: "Out", reference: reference, referenceName: "Ref")
        XCTAssertEqual(s.categories.map(\.id), [1, 2, 3, 5])
        XCTAssertEqual(s.categories[2].referenceInstances, 1)
        XCTAssertEqual(s.categories[2].instances, 0)
        XCTAssertEqual(s.categories[2].gain, 0)
    }

    func testSizeBuckets() {
        let s = StatisticsFixture.stats
        let out = s.dataset.sizes
        XCTAssertEqual([out.small, out.medium, out.large], [5, 2, 1])
        XCTAssertEqual([out.smallShare, out.mediumShare, out.largeShare], [0.625, 0.25, 0.125])
        let ref = s.reference!.sizes
        XCTAssertEqual([ref.small, ref.medium, ref.large], [1, 2, 0])
    }

    func testBoxDimensionSummaries() throws {
        let s = StatisticsFixture.stats
        // Instance widths sorted: 0 10 10 10 20 50.4 60 100.
        let w = try XCTUnwrap(s.dataset.boxWidth)
        XCTAssertEqual(w.min, 0)
        XCTAssertEqual(w.p25, 10)
        XCTAssertEqual(w.median, 15)
        XCTAssertEqual(w.p75, 52.8, accuracy: 1e-9)
        XCTAssertEqual(w.max, 100)
        XCTAssertEqual(w.mean, 32.55, accuracy: 1e-9)
        // Heights sorted: 10 10 10 10 20 50 50 100.
        let h = try XCTUnwrap(s.dataset.boxHeight)
        XCTAssertEqual([h.min, h.p25, h.median, h.p75, h.max], [10, 10, 15, 50, 100])
        let a = try XCTUnwrap(s.dataset.boxArea)
        XCTAssertEqual(a.min, 0)
        XCTAssertEqual(a.max, 10_000)
        let refWidth = try XCTUnwrap(s.reference?.boxWidth)
        XCTAssertEqual([refWidth.min, refWidth.median, refWidth.max], [10, 40, 50])
        XCTAssertEqual(refWidth.mean, 100.0 / 3.0, accuracy: 1e-12)
    }

    func testChecks() {
        let out = StatisticsFixture.stats.dataset
        XCTAssertEqual(out.images, 5)
        XCTAssertEqual(out.annotatedImages, 3)
        XCTAssertEqual(out.imagesWithoutAnnotations, 1)
        XCTAssertEqual(out.annotations, 9)
        XCTAssertEqual(out.instances, 8)
        XCTAssertEqual(out.crowd, 1)
        XCTAssertEqual(out.difficult, 1)
        XCTAssertEqual(out.truncated, 1)
        XCTAssertEqual(out.zeroAreaBoxes, 1)
        XCTAssertEqual(out.boxesOutsideImage, 2)
        XCTAssertEqual(out.annotationsOfUnknownImages, 1)
        XCTAssertEqual(out.annotationsOfUnknownCategories, 1)
        let ref = StatisticsFixture.stats.reference!
        XCTAssertEqual([ref.images, ref.annotatedImages, ref.imagesWithoutAnnotations, ref.crowd, ref.boxesOutsideImage],
                       [3, 2, 1, 1, 0])
    }

    func testAttributesAndScores() throws {
        let s = StatisticsFixture.stats
        let attributes = try XCTUnwrap(s.dataset.attributes)
        XCTAssertEqual([attributes.easy, attributes.hard, attributes.unknown, attributes.other, attributes.missing],
                       [1, 1, 1, 1, 5])
        let scores = try XCTUnwrap(s.dataset.scores)
        XCTAssertEqual(scores.bins, [1, 0, 0, 1, 0, 0, 0, 0, 0, 2])
        XCTAssertEqual(scores.outOfRange, 1)
        XCTAssertEqual(scores.missing, 4)
        XCTAssertEqual(scores.mean ?? 0, 0.575, accuracy: 1e-12)
        XCTAssertNil(s.reference?.attributes, "absent when no annotation has one")
        XCTAssertNil(s.reference?.scores)
    }

    func testWithoutAReference() {
        let s = DatasetStatistics(dataset: StatisticsFixture.output, name: "Out")
        XCTAssertNil(s.referenceName)
        XCTAssertNil(s.reference)
        XCTAssertEqual(s.tableCells(), [["Out", "3", "-", "8", "-"]])
        XCTAssertEqual(s.categories.map(\.referenceInstances), [nil, nil, nil])
        XCTAssertEqual(s.categories.map(\.gain), [nil, nil, nil])
        XCTAssertEqual(s.csv().split(separator: "\n")[1], "1,cat,,3,,2,")
        XCTAssertEqual(try MiniXML.parse(s.svgChart()).root.descendants(named: "rect")
            .filter { $0.attribute("class") == "bar reference" }.count, 0)
    }

    func testEmptyDataset() throws {
        let s = DatasetStatistics(dataset: DetectionDataset(), name: "Empty", reference: DetectionDataset(), referenceName: "None")
        XCTAssertEqual(s.tableCells(), [["None", "0", "-", "0", "-"], ["Empty", "0", "-", "0", "-"]])
        XCTAssertNil(s.dataset.boxWidth)
        XCTAssertEqual(s.dataset.sizes.smallShare, 0)
        XCTAssertFalse(try s.json().isEmpty, "encodes without non-finite numbers")
        XCTAssertNoThrow(try MiniXML.parse(s.svgChart()))
    }

    func testNumberFormatting() {
        XCTAssertEqual(StatisticsFormat.fixed(2.625, 2), "2.63")
        XCTAssertEqual(StatisticsFormat.fixed(-0.04, 1), "0.0")
        XCTAssertEqual(StatisticsFormat.fixed(-1.25, 1), "-1.3")
        XCTAssertEqual(StatisticsFormat.fixed(7, 0), "7")
        XCTAssertEqual(StatisticsFormat.fixed(.nan, 2), "-")
        XCTAssertEqual(StatisticsFormat.trimmed(2.5, 2), "2.5")
        XCTAssertEqual(StatisticsFormat.trimmed(3, 2), "3")
        XCTAssertEqual(StatisticsFormat.percent(0.625), "62.5%")
        XCTAssertEqual(StatisticsFormat.compact(250_000), "250k")
        XCTAssertEqual(StatisticsFormat.compact(2_500), "2.5k")
        XCTAssertEqual(StatisticsFormat.compact(1_500_000), "1.5M")
        XCTAssertEqual(StatisticsFormat.compact(40), "40")
        XCTAssertEqual(DatasetStatistics.niceStep(for: 52_493), 100_000)
        XCTAssertEqual(DatasetStatistics.niceStep(for: 1.6), 2)
        XCTAssertEqual(DatasetStatistics.niceStep(for: 2.2), 2.5)
        XCTAssertEqual(DatasetStatistics.niceStep(for: 0.3), 1)
    }
}
