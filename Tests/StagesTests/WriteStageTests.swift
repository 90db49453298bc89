import XCTest
import Datasets
import Imaging
@testable import Stages
import Support
import Pipeline

final class WriteStageTests: XCTestCase {
    var temp: URL!
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("write-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func fixture(_ name: String) -> String { root.appendingPathComponent("Tests/ImagingTests/Fixtures/\(name)").path }
    var demoImage: String { root.appendingPathComponent("data/demo/coco/train/000000000001.jpg").path }

    func item(_ id: Int, _ path: String, width: Int, height: Int) -> DatasetItem {
        DatasetItem(image: ImageInfo(id: id, fileName: "img\(id).jpg", width: width, height: height), sourcePath: path,
                    annotations: [Annotation(id: id * 10, imageId: id, categoryId: 3, bbox: BoundingBox(x: 1, y: 1, width: 5, height: 4), score: 0.5, attribute: "easy")],
                    captions: ["caption \(id)"])
    }

    func context(_ out: URL?) -> StageContext {
        StageContext(runSeed: 0, stageId: "write", meta: DatasetMeta(name: "ref", categories: [Category(id: 3, name: "square")]),
                     unitIndex: 4, outputDirectory: out)
    }

    func testBadImagesAreSkippedOrConvertedAndCounted() throws {
        let out = temp.appendingPathComponent("out")
        let stage = WriteStage(config: WriteConfig())
        let result = try stage.process(UnitOutput(items: [
            item(1, demoImage, width: 128, height: 128),
            item(2, fixture("gray_16x12.jpg"), width: 16, height: 12),
            item(3, fixture("cmyk_16x12.jpg"), width: 16, height: 12),
            item(4, fixture("truncated.jpg"), width: 48, height: 48),
            item(5, fixture("not_a_jpeg.png"), width: 16, height: 12),
            item(6, temp.appendingPathComponent("nope.jpg").path, width: 16, height: 12),
            item(7, fixture("rgb_16x12.jpg"), width: 32, height: 32),
        ]), context: context(out))
        XCTAssertEqual(result.items.map(\.image.id), [1, 2, 3])
        XCTAssertEqual(Dictionary(grouping: result.dropped, by: \.reason).mapValues(\.count),
                       ["corrupt-image": 2, "missing-image": 1, "size-mismatch": 1])
        XCTAssertEqual(result.counters["images-converted-to-rgb"], 2)
        XCTAssertEqual(Set(result.issues.map(\.kind)), [.convertedImage, .corruptImage, .missingImage, .sizeMismatch])
        // The good RGB JPEG is copied byte for byte; converted ones decode as RGB JPEGs.
        let copied = out.appendingPathComponent("images/shard-00004/img1.jpg")
        XCTAssertEqual(FileManager.default.contents(atPath: copied.path), FileManager.default.contents(atPath: demoImage))
        let gray = try JPEG.decode(contentsOf: out.appendingPathComponent("images/shard-00004/img2.jpg"))
        XCTAssertEqual(gray.header.components, 3)
        XCTAssertEqual(result.items[0].image.fileName, "shard-00004/img1.jpg")
        // The shard's annotation file is written with the unit.
        let shard = try COCOReader.load(instances: out.appendingPathComponent("annotations/shards/shard-00004.json"))
        XCTAssertEqual(shard.images.map(\.id), [1, 2, 3])
        XCTAssertEqual(shard.annotations.first?.score, 0.5)
        XCTAssertEqual(shard.annotations.first?.attribute, "easy")

        let summary = try stage.finalize([result], reference: [UnitOutput(items: [item(1, demoImage, width: 128, height: 128)])], context: context(out))
        XCTAssertEqual(summary.images, 3)
        let merged = try COCOReader.load(instances: out.appendingPathComponent("annotations/instances_write.json"),
                                         captions: out.appendingPathComponent("annotations/captions_write.json"))
        XCTAssertEqual(merged.images.count, 3)
        XCTAssertEqual(merged.captions.map(\.text), ["caption 1", "caption 2", "caption 3"])
        XCTAssertEqual(merged.categories, [Category(id: 3, name: "square")])
        for file in ["stats.md", "stats.json", "stats.csv", "stats.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
    }

    func testDuplicateIdsInTheOutputAreAnError() throws {
        let stage = WriteStage(config: WriteConfig())
        let out = temp.appendingPathComponent("dup")
        let a = try stage.process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128)]), context: context(out))
        XCTAssertThrowsError(try stage.finalize([a, a], reference: [], context: context(out))) { error in
            XCTAssertTrue("\(error)".contains("image id 1 occurs twice"), "\(error)")
        }
    }

    func testVOCOutputWritesXMLAndImageSet() throws {
        var config = WriteConfig()
        config.format = .voc
        config.vocFolder = "VOCDE"
        let stage = WriteStage(config: config)
        let out = temp.appendingPathComponent("voc")
        let result = try stage.process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128)]), context: context(out))
        _ = try stage.finalize([result], reference: [], context: context(out))
        let back = try VOCReader.load(devkit: out.appendingPathComponent("VOCdevkit"), splits: ["VOCDE/trainval"], classes: ["square"])
        XCTAssertEqual(back.images.map(\.fileName), ["VOCDE/JPEGImages/img1.jpg"])
        XCTAssertEqual(back.annotations.map(\.bbox), [BoundingBox(x: 1, y: 1, width: 5, height: 4)])
    }

    func testUnwritableOutputStopsWithAClearMessage() throws {
        // A regular file where the output folder should be: no run as root can write under it.
        let blocker = temp.appendingPathComponent("blocker")
        _ = FileManager.default.createFile(atPath: blocker.path, contents: Data([1]))
        XCTAssertThrowsError(try WriteStage(config: WriteConfig()).process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128)]),
                                                                          context: context(blocker.appendingPathComponent("out")))) { error in
            XCTAssertTrue("\(error)".contains(blocker.path), "\(error)")
        }
        let full = AtomicFile.WriteError(path: "/x/y.jpg", operation: "write", code: ENOSPC)
        XCTAssertTrue(full.description.contains("disk is full"), full.description)
    }
}
