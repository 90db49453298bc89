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
        // The per-unit annotation files are for a run in progress: the finished dataset has the merged file only.
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("annotations/shards").path))
        for file in ["stats.md", "stats.json", "stats.csv", "stats.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
    }

    /// Issue 19 item 13: the write stage's `segmentation` key (default `box`), strictly decoded and in the plan.
    func testSegmentationKeyDefaultsToTheBoxPolygon() throws {
        let out = temp.appendingPathComponent("seg")
        let stage = WriteStage(config: WriteConfig())
        let result = try stage.process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128)]), context: context(out))
        let unitFile = try String(contentsOf: out.appendingPathComponent("annotations/shards/shard-00004.json"), encoding: .utf8)
        _ = try stage.finalize([result], reference: [], context: context(out))
        for text in [try String(contentsOf: out.appendingPathComponent("annotations/instances_write.json"), encoding: .utf8), unitFile] {
            XCTAssertTrue(text.contains(#""segmentation": [[1, 1, 6, 1, 6, 5, 1, 5]]"#), text)
        }
        let base = "source:\n  format: coco\n  instances: i.json\n  images: im\nstages:\n  - kind: write\n"
        func parse(_ text: String) throws -> PipelineFile { try PipelineFile.parse(text, file: "/tmp/p.yaml", defaultName: "p", catalog: .builtIn) }
        XCTAssertEqual((try parse(base).stages[0].config as? WriteConfig)?.segmentation, .box)
        XCTAssertEqual((try parse(base + "    segmentation: none\n").stages[0].config as? WriteConfig)?.segmentation, .omit)
        XCTAssertEqual((try parse(base + "    segmentation: empty\n").stages[0].config as? WriteConfig)?.segmentation, .empty)
        XCTAssertThrowsError(try parse(base + "    segmentation: mask\n")) { error in
            XCTAssertTrue("\(error)".contains("segmentation is box") && "\(error)".contains("\"mask\""), "\(error)")
        }
        let plan = String(decoding: try ResolvedPlan(try parse(base)).canonicalJSON(), as: UTF8.self)
        XCTAssertTrue(plan.contains(#""segmentation" : "box""#), plan)
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

    /// Issue 19 item 12: what VOC tools look for beside the annotations: `train`, `val` and `trainval` lists (all
    /// images are training data) and datumaro's / CVAT's `labelmap.txt`.
    func testVOCOutputWritesImageSetsAndLabelMap() throws {
        var config = WriteConfig()
        config.format = .voc
        let stage = WriteStage(config: config)
        let out = temp.appendingPathComponent("voc")
        let meta = DatasetMeta(name: "ref", categories: [Category(id: 7, name: "ring"), Category(id: 3, name: "square")])
        let context = StageContext(runSeed: 0, stageId: "write", meta: meta, unitIndex: 0, outputDirectory: out)
        var second = item(2, demoImage, width: 128, height: 128)
        second.image.fileName = "000000000002.jpg"
        let result = try stage.process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128), second]), context: context)
        _ = try stage.finalize([result], reference: [], context: context)
        let year = out.appendingPathComponent("VOCdevkit/VOC2007")
        func text(_ path: String) throws -> String { try String(contentsOf: year.appendingPathComponent(path), encoding: .utf8) }
        XCTAssertEqual(try text("ImageSets/Main/train.txt"), "img1\n000000000002\n")
        XCTAssertEqual(try text("ImageSets/Main/trainval.txt"), "img1\n000000000002\n")
        XCTAssertEqual(try text("ImageSets/Main/val.txt"), "")
        XCTAssertEqual(try text("labelmap.txt"), "# label:color_rgb:parts:actions\nbackground:0,0,0::\nsquare:128,0,0::\nring:0,128,0::\n")
        let files = try FileManager.default.contentsOfDirectory(atPath: year.appendingPathComponent("ImageSets/Main").path).sorted()
        XCTAssertEqual(files, ["train.txt", "trainval.txt", "val.txt"])
    }

    func testLabelMapUsesVOCColoursAndRefusesNamesItCannotHold() throws {
        let voc = VOCReader.defaultClasses.enumerated().map { Category(id: $0.offset + 1, name: $0.element) }
        let lines = try VOCWriter.labelMap(categories: voc).split(separator: "\n")
        XCTAssertEqual(lines.count, 22)
        XCTAssertEqual(lines[1], "background:0,0,0::")
        XCTAssertEqual(lines[1 + 1], "aeroplane:128,0,0::")
        XCTAssertEqual(lines[1 + 15], "person:192,128,128::")
        XCTAssertEqual(lines[1 + 20], "tvmonitor:0,64,128::")
        for bad in ["a:b", "", " x", "#x", "a\nb"] {
            XCTAssertThrowsError(try VOCWriter.labelMap(categories: [Category(id: 4, name: bad)])) { error in
                XCTAssertTrue("\(error)".contains("category id 4"), "\(error)")
            }
        }
        XCTAssertEqual(try VOCWriter.labelMap(categories: [Category(id: 1, name: "background")]), "# label:color_rgb:parts:actions\nbackground:0,0,0::\n")
    }

    /// torchvision's VOCDetection accepts only the year folders VOC2007 ... VOC2012.
    func testShippedVOCPipelinesUseAYearFolderTorchvisionAccepts() throws {
        for name in ["demo", "voc-de", "demo-filter"] {
            let text = try String(contentsOf: root.appendingPathComponent("pipelines/\(name).yaml"), encoding: .utf8)
            let file = try PipelineFile.parse(text, file: root.appendingPathComponent("pipelines/\(name).yaml").path, defaultName: name, catalog: .builtIn)
            let folders = file.stages.compactMap { ($0.config as? WriteConfig).flatMap { $0.format == .voc ? $0.vocFolder : nil } }
            XCTAssertFalse(folders.isEmpty, name)
            for folder in folders { XCTAssertTrue((2007...2012).map { "VOC\($0)" }.contains(folder), "\(name): \(folder)") }
        }
    }

    /// Issue 19 item 2: the write stage's own checks before a run (the CLI side is in WriterChecksTests).
    func testCheckBeforeRunRefusesWhatVOCCannotHold() throws {
        var config = WriteConfig()
        config.format = .voc
        let stage = WriteStage(config: config)
        func check(_ names: [String], categories: [Category]) throws -> [String] {
            let items = names.enumerated().map { k, name -> DatasetItem in
                var i = item(k + 1, demoImage, width: 128, height: 128)
                i.image.fileName = name
                return i
            }
            let meta = DatasetMeta(name: "ref", categories: categories)
            return try stage.checkBeforeRun(SourceOutput(meta: meta, items: items),
                                            context: StageContext(runSeed: 0, stageId: "voc", meta: meta, unitIndex: 0, outputDirectory: nil))
        }
        let square = [Category(id: 3, name: "square")]
        XCTAssertEqual(try check(["a.jpg", "b.jpg"], categories: square), [])
        XCTAssertEqual(try check(["a b.jpg", "b.jpg"], categories: square).count, 1, "a note: one name written under its id")
        XCTAssertThrowsError(try check(["2.jpg", "x y.jpg"], categories: square)) { error in
            XCTAssertTrue("\(error)".contains("image 1 (2.jpg) and image 2 (x y.jpg) would both be written as 2.jpg"), "\(error)")
        }
        XCTAssertThrowsError(try check(["a.jpg"], categories: [Category(id: 9, name: "a:b")])) { error in
            XCTAssertTrue("\(error)".contains("category id 9") && "\(error)".contains("':'"), "\(error)")
        }
        XCTAssertThrowsError(try check(["a.jpg"], categories: [Category(id: 1, name: "cat"), Category(id: 2, name: "cat")])) { error in
            XCTAssertTrue("\(error)".contains("categories 1 and 2 are both named \"cat\""), "\(error)")
        }
        XCTAssertNoThrow(try WriteStage(config: WriteConfig()).checkBeforeRun(
            SourceOutput(meta: DatasetMeta(name: "r", categories: [Category(id: 1, name: "a:b")]), items: []),
            context: context(nil)), "COCO names classes by id")
    }

    /// Issue 19 item 16: `format: yolo`, the ultralytics layout.
    func testYOLOOutputWritesImagesLabelsAndDataYAML() throws {
        var config = WriteConfig()
        config.format = .yolo
        let stage = WriteStage(config: config)
        let out = temp.appendingPathComponent("yolo")
        var crowd = item(2, demoImage, width: 128, height: 128)
        crowd.annotations[0].isCrowd = true
        let result = try stage.process(UnitOutput(items: [item(1, demoImage, width: 128, height: 128), crowd]), context: context(out))
        XCTAssertEqual(result.counters["boxes-written"], 1)
        XCTAssertEqual(result.counters["boxes-not-written-crowd"], 1)
        let summary = try stage.finalize([result], reference: [UnitOutput(items: [item(1, demoImage, width: 128, height: 128)])], context: context(out))
        XCTAssertEqual(summary.images, 2)
        XCTAssertEqual(FileManager.default.contents(atPath: out.appendingPathComponent("images/img1.jpg").path), FileManager.default.contents(atPath: demoImage))
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("labels/img1.txt"), encoding: .utf8), "0 0.027344 0.023438 0.039062 0.031250\n")
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("labels/img2.txt"), encoding: .utf8), "")
        let yaml = try String(contentsOf: out.appendingPathComponent("data.yaml"), encoding: .utf8)
        XCTAssertTrue(yaml.contains("\ntrain: images\nval: images\nnames:\n  0: \"square\"\n") && !yaml.contains("path:"), yaml)
        for file in ["stats.md", "stats.json", "stats.csv", "stats.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        XCTAssertEqual((try PipelineFile.parse("source:\n  format: coco\n  instances: i.json\n  images: im\nstages:\n  - kind: write\n    format: yolo\n",
                                               file: "/tmp/p.yaml", defaultName: "p", catalog: .builtIn).stages[0].config as? WriteConfig)?.format, .yolo)
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
