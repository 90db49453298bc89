import XCTest
import Logging
import Datasets
@testable import Pipeline
import Support

/// Test stage kinds, defined outside `Sources/Stages` (the runner knows no stage kind): `test-source` reads a
/// COCO instances file; `tag` hands a string per item, in memory, to the fused `consume`; `reverse` is a
/// barrier; `collect` is a sink that writes one line per item per unit and a final list.
struct NoConfig: StageConfig {
    init() {}
    init(from decoder: Decoder) throws { _ = try decoder.container(keyedBy: CodingKeys.self) }
    enum CodingKeys: CodingKey {}
    func encode(to encoder: Encoder) throws {}
}

struct TestSourceConfig: StageConfig {
    var instances: String
    var images: String

    func resolvingPaths(against base: URL) -> TestSourceConfig {
        TestSourceConfig(instances: absolutePath(instances, base: base), images: absolutePath(images, base: base))
    }

    var inputFiles: [String] { [instances] }
}

final class TestSource: SourceStage {
    let config: TestSourceConfig
    init(config: TestSourceConfig) { self.config = config }

    func load(context: StageContext) throws -> SourceOutput {
        let dataset = try COCOReader.load(instances: URL(fileURLWithPath: config.instances))
        let boxes = dataset.annotationsByImage()
        let items = dataset.images.map { DatasetItem(image: $0, sourcePath: config.images + "/" + $0.fileName, annotations: boxes[$0.id] ?? []) }
        return SourceOutput(meta: DatasetMeta(name: "test", categories: dataset.categories), items: items)
    }

    func itemFiles(_ items: [DatasetItem]) -> [String] { items.map(\.sourcePath) }
}

final class TagStage: HandOverStage {
    func produce(_ input: UnitOutput, context: StageContext) throws -> HandedOver<String> {
        var out = HandedOver<String>()
        for (index, item) in input.items.enumerated() {
            if index == 0, item.image.id % 5 == 0 { out.output.drop(item, reason: "multiple-of-five"); continue }
            var r = context.random(item.image.id)
            out.append(item, "tag-\(item.image.id)-\(r.next() % 1000)")
        }
        return out
    }
}

final class ConsumeStage: FusedStage {
    func consume(_ input: HandedOver<String>, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        for (item, tag) in input.pairs {
            var item = item
            item.captions = [tag]
            out.items.append(item)
        }
        out.count("consumed", out.items.count)
        return out
    }
}

/// Fuses like `consume` but reads another hand-over type: the plan must refuse it after `tag`.
final class ConsumeNumbersStage: FusedStage {
    func consume(_ input: HandedOver<Int>, context: StageContext) throws -> UnitOutput { input.output }
}

final class ReverseStage: BarrierStage {
    func plan(_ units: [UnitOutput], context: StageContext) throws -> UnitOutput {
        UnitOutput(items: units.flatMap(\.items).reversed(), counters: ["planned": units.flatMap(\.items).count])
    }
}

final class CollectStage: SinkStage {
    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        let lines = input.items.map { "\($0.image.id) \($0.captions.joined(separator: ","))" }.joined(separator: "\n")
        try AtomicFile.write(lines, to: context.outputDirectory!.appendingPathComponent("unit-\(context.unitIndex).txt"))
        return UnitOutput(items: input.items)
    }

    func finalize(_ units: [UnitOutput], reference: [UnitOutput], context: StageContext) throws -> SinkSummary {
        let ids = units.flatMap(\.items).map { "\($0.image.id)" }.joined(separator: " ")
        try AtomicFile.write(ids + "\nreference \(reference.flatMap(\.items).count)\n", to: context.outputDirectory!.appendingPathComponent("all.txt"))
        return SinkSummary(outputs: ["all": "all.txt"], images: units.flatMap(\.items).count, annotations: 0)
    }
}

extension StageCatalog {
    static let test = StageCatalog(
        source: .typed("load", summary: "test source", config: TestSourceConfig.self, make: { TestSource(config: $0) }),
        kinds: [
            .typed("test-tag", summary: "test", config: NoConfig.self, make: { _ in TagStage() }),
            .typed("test-consume", summary: "test", fusesWithInput: true, config: NoConfig.self, make: { _ in ConsumeStage() }),
            .typed("test-consume-numbers", summary: "test", fusesWithInput: true, config: NoConfig.self, make: { _ in ConsumeNumbersStage() }),
            .typed("test-reverse", summary: "test", config: NoConfig.self, make: { _ in ReverseStage() }),
            .typed("test-collect", summary: "test", isSink: true, config: NoConfig.self, make: { _ in CollectStage() }),
        ])
}

final class RunSchedulerTests: XCTestCase {

    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp.appendingPathComponent("images"), withIntermediateDirectories: true)
        var images: [String] = [], annotations: [String] = []
        for id in 1...23 {
            _ = FileManager.default.createFile(atPath: temp.appendingPathComponent("images/\(id).jpg").path, contents: Data([0xFF]))
            images.append(#"{"id": \#(id), "file_name": "\#(id).jpg", "width": 100, "height": 100}"#)
            annotations.append(#"{"id": \#(id), "image_id": \#(id), "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500, "iscrowd": 0}"#)
        }
        let json = #"{"images": [\#(images.joined(separator: ","))], "annotations": [\#(annotations.joined(separator: ","))], "categories": [{"id": 1, "name": "thing"}]}"#
        try json.write(to: temp.appendingPathComponent("instances.json"), atomically: true, encoding: .utf8)
        try """
            seed: 3
            batch_size: 4
            source:
              instances: instances.json
              images: images
            stages:
              - id: tag
                kind: test-tag
              - id: consume
                kind: test-consume
              - id: direct
                kind: test-collect
              - id: reverse
                kind: test-reverse
                input: consume
              - id: reversed
                kind: test-collect
            """.write(to: temp.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func run(_ name: String, workers: Int) throws -> RunReport {
        try PipelineRun.start(pipelinePath: temp.appendingPathComponent("p.yaml").path, catalog: .test, runDirectory: temp.appendingPathComponent(name),
                              logger: Logger(label: "test"), options: .init(workers: workers))
    }

    func outputFiles(_ run: String) throws -> [String: Data] {
        let root = temp.appendingPathComponent(run).appendingPathComponent("output")
        var files: [String: Data] = [:]
        for rel in FileManager.default.subpaths(atPath: root.path) ?? [] {
            var isDir: ObjCBool = false
            let path = root.appendingPathComponent(rel).path
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { files[rel] = FileManager.default.contents(atPath: path) }
        }
        return files
    }

    func testFusionBarrierAndSinksAcrossWorkerCounts() throws {
        let report = try run("one", workers: 1)
        // 23 images in batches of 4 = 6 units; batch firsts are 1, 5, 9, 13, 17, 21: only 5 is dropped.
        let consume = try XCTUnwrap(report.stages.first { $0.id == "consume" })
        XCTAssertEqual(consume.itemsOut, 22)
        XCTAssertEqual(consume.itemsIn, 22, "a fused stage's input is its predecessor's output")
        XCTAssertEqual(consume.counters["consumed"], 22)
        XCTAssertEqual(report.stages.first { $0.id == "tag" }?.dropped["multiple-of-five"], 1)
        XCTAssertEqual(report.stages.first { $0.id == "reverse" }?.counters["planned"], 22)
        XCTAssertEqual(report.outputs["direct"]?.images, 22)
        XCTAssertEqual(report.outputs["reversed"]?.images, 22)
        let files = try outputFiles("one")
        let all = String(decoding: try XCTUnwrap(files["reversed/all.txt"]), as: UTF8.self)
        XCTAssertTrue(all.hasPrefix("23 22 21 20 19 18 17 16 15 14 13 12 11 10 9 8 7 6 4 3 2 1\n"), all)
        XCTAssertTrue(all.contains("reference 23"))
        let unit0 = String(decoding: try XCTUnwrap(files["direct/unit-0.txt"]), as: UTF8.self)
        XCTAssertTrue(unit0.hasPrefix("1 tag-1-"), "the fused stage received the in-memory value: \(unit0)")
        XCTAssertEqual(files.keys.filter { $0.hasPrefix("reversed/unit-") }.count, 6)

        _ = try run("three", workers: 3)
        XCTAssertEqual(try outputFiles("three"), files, "the worker count must not change a byte")
    }

    func testResumeOfAFinishedRunRedoesNothingAndRefusesAChangedPipeline() throws {
        _ = try run("r", workers: 2)
        let dir = temp.appendingPathComponent("r")
        let before = try outputFiles("r")
        _ = try PipelineRun.resume(runDirectory: dir, catalog: .test, logger: Logger(label: "test"), options: .init(workers: 1))
        XCTAssertEqual(try outputFiles("r"), before)

        let path = temp.appendingPathComponent("p.yaml")
        let edited = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "seed: 3", with: "seed: 4")
        try edited.write(to: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PipelineRun.resume(runDirectory: dir, catalog: .test, logger: Logger(label: "test"), options: .init(workers: 1))) { error in
            XCTAssertTrue("\(error)".contains("pipeline (resolved plan) changed"), "\(error)")
        }
    }

    func testResumeRefusesChangedAnnotationsAndImages() throws {
        _ = try run("inputs", workers: 1)
        let dir = temp.appendingPathComponent("inputs")
        let resume = { try PipelineRun.resume(runDirectory: dir, catalog: .test, logger: Logger(label: "test"), options: .init(workers: 1)) }
        XCTAssertNoThrow(try resume())
        // An image file touched (new modification time): refused.
        let image = temp.appendingPathComponent("images/7.jpg").path
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: image)
        XCTAssertThrowsError(try resume()) { XCTAssertTrue("\($0)".contains("image files changed") && "\($0)".contains("images/7.jpg"), "\($0)") }
        // The annotation file edited: refused, naming it.
        let instances = temp.appendingPathComponent("instances.json")
        let text = try String(contentsOf: instances, encoding: .utf8)
        try (text + " ").write(to: instances, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try resume()) { XCTAssertTrue("\($0)".contains("instances.json changed"), "\($0)") }
    }

    func testRefusesAnExistingRunAndAHeldLock() throws {
        let first = try run("x", workers: 1)
        XCTAssertEqual(try run("x", workers: 1).wallSeconds, first.wallSeconds, "the same run, finished: its report, nothing redone")
        let path = temp.appendingPathComponent("p.yaml")
        try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "seed: 3", with: "seed: 9").write(to: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try run("x", workers: 1)) { XCTAssertTrue("\($0)".contains("already holds a run")) }
        let held = RunDirectory(temp.appendingPathComponent("locked"))
        try held.lock()
        // flock locks are per open file description: a second open in this process conflicts too.
        XCTAssertThrowsError(try RunDirectory(temp.appendingPathComponent("locked")).lock()) { XCTAssertTrue("\($0)".contains("another dataengine process")) }
    }

    func testFusingAfterASharedStageIsRefused() throws {
        let text = """
            source: {instances: instances.json, images: images}
            stages:
              - id: tag
                kind: test-tag
              - id: consume
                kind: test-consume
              - id: other
                kind: test-collect
                input: tag
            """
        let file = try PipelineFile.parse(text, file: temp.appendingPathComponent("q.yaml").path, defaultName: "q", catalog: .test)
        XCTAssertThrowsError(try ExecutionGraph(plan: ResolvedPlan(file))) { XCTAssertTrue("\($0)".contains("never stored") || "\($0)".contains("no other stage"), "\($0)") }
    }

    func testFusingStagesWhoseHandOverTypesDifferIsRefusedWhenThePlanIsBuilt() throws {
        let text = """
            source: {instances: instances.json, images: images}
            stages:
              - id: tag
                kind: test-tag
              - id: numbers
                kind: test-consume-numbers
              - kind: test-collect
            """
        let file = try PipelineFile.parse(text, file: temp.appendingPathComponent("q.yaml").path, defaultName: "q", catalog: .test)
        XCTAssertThrowsError(try ExecutionGraph(plan: ResolvedPlan(file))) { XCTAssertTrue("\($0)".contains("hands over String"), "\($0)") }
    }

    func testAStageKindUnknownToTheCatalogIsRefusedWithTheKnownNames() throws {
        let text = "source: {instances: instances.json, images: images}\nstages:\n  - kind: filter\n"
        XCTAssertThrowsError(try PipelineFile.parse(text, file: "/tmp/q.yaml", defaultName: "q", catalog: .test)) {
            XCTAssertTrue("\($0)".contains("unknown stage kind `filter`") && "\($0)".contains("test-tag"), "\($0)")
        }
    }
}
