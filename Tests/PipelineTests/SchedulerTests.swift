import XCTest
import Logging
import Datasets
@testable import Pipeline
@testable import Stages

/// Test stage kinds: `tag` hands an in-memory value to the fused `consume`; `reverse` is a barrier; `collect`
/// is a sink that writes one line per item per unit and a final list.
struct NoConfig: StageConfig {
    init() {}
    init(from decoder: Decoder) throws { _ = try decoder.container(keyedBy: CodingKeys.self) }
    enum CodingKeys: CodingKey {}
    func encode(to encoder: Encoder) throws {}
}

final class TagStage: Stage {
    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput(items: input.items)
        for item in input.items {
            var r = context.random(item.image.id)
            out.transient[item.image.id] = "tag-\(item.image.id)-\(r.next() % 1000)"
        }
        if let first = input.items.first, first.image.id % 5 == 0 { out.drop(first, reason: "multiple-of-five"); out.items.removeFirst() }
        return out
    }
}

final class ConsumeStage: Stage {
    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        for var item in input.items {
            guard let tag = input.transient[item.image.id] as? String else {
                throw StageError(stage: context.stageId, message: "no transient value for \(item.image.id): not fused")
            }
            item.captions = [tag]
            out.items.append(item)
        }
        out.count("consumed", out.items.count)
        return out
    }
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

final class SchedulerTests: XCTestCase {
    override class func setUp() {
        StageCatalog.register(.typed("test-tag", summary: "test", config: NoConfig.self, make: { _ in TagStage() }))
        StageCatalog.register(.typed("test-consume", summary: "test", fusesWithInput: true, config: NoConfig.self, make: { _ in ConsumeStage() }))
        StageCatalog.register(.typed("test-reverse", summary: "test", config: NoConfig.self, make: { _ in ReverseStage() }))
        StageCatalog.register(.typed("test-collect", summary: "test", isSink: true, config: NoConfig.self, make: { _ in CollectStage() }))
    }

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
              format: coco
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
        try PipelineRun.start(pipelinePath: temp.appendingPathComponent("p.yaml").path, runDirectory: temp.appendingPathComponent(name),
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
        _ = try PipelineRun.resume(runDirectory: dir, logger: Logger(label: "test"), options: .init(workers: 1))
        XCTAssertEqual(try outputFiles("r"), before)

        let path = temp.appendingPathComponent("p.yaml")
        let edited = try String(contentsOf: path, encoding: .utf8).replacingOccurrences(of: "seed: 3", with: "seed: 4")
        try edited.write(to: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try PipelineRun.resume(runDirectory: dir, logger: Logger(label: "test"), options: .init(workers: 1))) { error in
            XCTAssertTrue("\(error)".contains("pipeline (resolved plan) changed"), "\(error)")
        }
    }

    func testResumeRefusesChangedAnnotationsAndImages() throws {
        _ = try run("inputs", workers: 1)
        let dir = temp.appendingPathComponent("inputs")
        let resume = { try PipelineRun.resume(runDirectory: dir, logger: Logger(label: "test"), options: .init(workers: 1)) }
        XCTAssertNoThrow(try resume())
        // An image file touched (new modification time): refused.
        let image = temp.appendingPathComponent("images/7.jpg").path
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_000_000)], ofItemAtPath: image)
        XCTAssertThrowsError(try resume()) { XCTAssertTrue("\($0)".contains("image files changed"), "\($0)") }
        // The annotation file edited: refused, naming it.
        let instances = temp.appendingPathComponent("instances.json")
        let text = try String(contentsOf: instances, encoding: .utf8)
        try (text + " ").write(to: instances, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try resume()) { XCTAssertTrue("\($0)".contains("instances.json changed"), "\($0)") }
    }

    func testRefusesAnExistingRunAndAHeldLock() throws {
        _ = try run("x", workers: 1)
        XCTAssertThrowsError(try run("x", workers: 1)) { XCTAssertTrue("\($0)".contains("already holds a run")) }
        let held = RunDirectory(temp.appendingPathComponent("locked"))
        try held.lock()
        // flock locks are per open file description: a second open in this process conflicts too.
        XCTAssertThrowsError(try RunDirectory(temp.appendingPathComponent("locked")).lock()) { XCTAssertTrue("\($0)".contains("another dataengine process")) }
    }

    func testFusingAfterASharedStageIsRefused() throws {
        let text = """
            source: {format: coco, instances: instances.json, images: images}
            stages:
              - id: tag
                kind: test-tag
              - id: consume
                kind: test-consume
              - id: other
                kind: test-collect
                input: tag
            """
        let file = try PipelineFile.parse(text, file: temp.appendingPathComponent("q.yaml").path, defaultName: "q")
        XCTAssertThrowsError(try ExecutionGraph(plan: ResolvedPlan(file))) { XCTAssertTrue("\($0)".contains("never stored") || "\($0)".contains("no other stage"), "\($0)") }
    }
}
