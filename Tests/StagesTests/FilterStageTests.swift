import XCTest
import Datasets
@testable import Stages
import Pipeline

final class FilterStageTests: XCTestCase {
    func item(_ id: Int, _ boxes: [(Double, Double, Double, Double)], crowd: Set<Int> = [], size: Int = 100) -> DatasetItem {
        let annotations = boxes.enumerated().map { i, b in
            Annotation(id: id * 100 + i, imageId: id, categoryId: 1, bbox: BoundingBox(x: b.0, y: b.1, width: b.2, height: b.3), isCrowd: crowd.contains(i))
        }
        return DatasetItem(image: ImageInfo(id: id, fileName: "\(id).jpg", width: size, height: size), sourcePath: "/x/\(id).jpg", annotations: annotations)
    }

    let context = StageContext(runSeed: 0, stageId: "filter", meta: DatasetMeta(name: "t", categories: []), unitIndex: 0, outputDirectory: nil)

    func testUnionCountsOverlapOnce() {
        let a = BoundingBox(x: 0, y: 0, width: 10, height: 10), b = BoundingBox(x: 5, y: 5, width: 10, height: 10)
        XCTAssertEqual(ObjectCoverage.unionArea([a, b], width: 100, height: 100), 175, accuracy: 1e-9)
        XCTAssertEqual(ObjectCoverage.summedArea([a, b], width: 100, height: 100), 200, accuracy: 1e-9)
        XCTAssertEqual(ObjectCoverage.unionArea([a, a, a], width: 100, height: 100), 100, accuracy: 1e-9)
        // Clipped to the image.
        XCTAssertEqual(ObjectCoverage.unionArea([BoundingBox(x: 95, y: 95, width: 10, height: 10)], width: 100, height: 100), 25, accuracy: 1e-9)
    }

    func testTwoPercentRuleOnTheUnion() throws {
        var config = FilterConfig()
        config.minObjectArea = 0.02
        let stage = FilterStage(config: config)
        // 200 px of 10,000 = exactly 2 %: kept. 150 px: dropped. Two identical 150 px boxes: union 150: dropped.
        let out = try stage.process(UnitOutput(items: [
            item(1, [(0, 0, 10, 20)]), item(2, [(0, 0, 10, 15)]), item(3, [(0, 0, 10, 15), (0, 0, 10, 15)]),
        ]), context: context)
        XCTAssertEqual(out.items.map(\.image.id), [1])
        XCTAssertEqual(out.dropped.map(\.imageId), [2, 3])
        XCTAssertEqual(Set(out.dropped.map(\.reason)), ["small-objects"])
        // With `sum`, image 3 (300 px summed) passes.
        config.objectArea = .sum
        let summed = try FilterStage(config: config).process(UnitOutput(items: [item(3, [(0, 0, 10, 15), (0, 0, 10, 15)])]), context: context)
        XCTAssertEqual(summed.items.count, 1)
    }

    func testCrowdAndSmallBoxesThenEmptyImages() throws {
        var config = FilterConfig()
        config.minObjectArea = 0
        config.minBoxArea = 50
        config.dropCrowd = true
        let out = try FilterStage(config: config).process(UnitOutput(items: [
            item(1, [(0, 0, 5, 5), (0, 0, 30, 30)], crowd: [1]),   // small dropped, crowd dropped -> empty
            item(2, [(0, 0, 5, 5), (10, 10, 20, 20)]),             // small dropped, one left
            item(3, []),
        ]), context: context)
        XCTAssertEqual(out.items.map(\.image.id), [2])
        XCTAssertEqual(out.items[0].annotations.count, 1)
        XCTAssertEqual(out.counters["boxes-dropped-crowd"], 1)
        XCTAssertEqual(out.counters["boxes-dropped-small"], 2)
        XCTAssertEqual(out.dropped.map(\.reason), ["no-boxes", "no-boxes"])
    }

    func testEmptyImagesKeptWhenAsked() throws {
        var config = FilterConfig()
        config.minObjectArea = 0
        config.dropEmpty = false
        let out = try FilterStage(config: config).process(UnitOutput(items: [item(3, [])]), context: context)
        XCTAssertEqual(out.items.count, 1)
    }
}
