import Foundation
import XCTest
import Datasets
import Support
@testable import Statistics

/// `DatasetTally`: the statistics of a dataset cut into parts (disjoint images, each annotation with its image)
/// are those of the whole, from the parts' tallies alone, in any order and after a stored round trip.
final class DatasetTallyTests: XCTestCase {
    /// The fixture's output without its annotation of an unknown image (which no part can place).
    var whole: DetectionDataset {
        var d = StatisticsFixture.output
        d.annotations.removeAll { $0.imageId == 99 }
        d.annotations.append(Annotation(id: 20, imageId: 4, categoryId: 2, bbox: StatisticsFixture.box(1, 1, 0.3, 7), score: 0.1 + 0.2))
        d.annotations.append(Annotation(id: 21, imageId: 2, categoryId: 2, bbox: StatisticsFixture.box(2, 2, -0.0, 4), score: -0.0))
        return d
    }

    func part(_ d: DetectionDataset, images ids: Set<Int>) -> DetectionDataset {
        DetectionDataset(images: d.images.filter { ids.contains($0.id) }, annotations: d.annotations.filter { ids.contains($0.imageId) },
                         categories: d.categories)
    }

    func testMergedPartsGiveTheWholeDatasetsStatistics() throws {
        let d = whole
        let parts = [part(d, images: [3, 1]), part(d, images: [5]), part(d, images: [2, 4])]
        let tallies = try parts.map { p -> DatasetTally in
            var out = BinaryWriter(tag: "tally")
            DatasetTally(p).write(into: &out)
            var reader = try BinaryReader(bytes: out.bytes, file: "t", tag: "tally")
            let back = try DatasetTally(from: &reader)
            XCTAssertTrue(reader.isAtEnd)
            return back
        }
        XCTAssertEqual(tallies, parts.map(DatasetTally.init))
        for ordering in [tallies, tallies.reversed(), [tallies[1], tallies[2], tallies[0]]] {
            XCTAssertEqual(DatasetTally.merged(ordering), DatasetTally(d))
        }
        let reference = StatisticsFixture.reference
        let fromParts = DatasetStatistics(tally: DatasetTally.merged(tallies.reversed()), categories: d.categories, name: "Out",
                                          reference: (DatasetTally(reference), reference.categories), referenceName: "Ref")
        XCTAssertEqual(fromParts, DatasetStatistics(dataset: d, name: "Out", reference: reference, referenceName: "Ref"))
        XCTAssertEqual(fromParts.dataset.boxWidth?.min, 0)
        XCTAssertEqual(fromParts.dataset.boxWidth?.min.sign, .plus)
    }

    func testAnAnnotationOfAnUnknownImageMakesAPartUnmergeable() {
        XCTAssertFalse(DatasetTally(StatisticsFixture.output).isMergeable)
        XCTAssertTrue(DatasetTally(whole).isMergeable)
    }

    func testADamagedTallyIsAnErrorNotATrap() {
        var out = BinaryWriter(tag: "tally")
        DatasetTally(whole).write(into: &out)
        for cut in [8, out.bytes.count / 2, out.bytes.count - 1] {
            XCTAssertThrowsError(try {
                var reader = try BinaryReader(bytes: Array(out.bytes.prefix(cut)), file: "t.bin", tag: "tally")
                _ = try DatasetTally(from: &reader)
            }()) { XCTAssertTrue("\($0)".contains("ends early"), "\($0)") }
        }
    }
}
