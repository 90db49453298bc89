import XCTest
@testable import Pipeline
import Stages

final class PipelineFileTests: XCTestCase {
    let base = """
        seed: 7
        source:
          format: coco
          instances: data/instances.json
          images: data/images
        stages:

        """

    func parse(_ text: String) throws -> PipelineFile {
        try PipelineFile.parse(text, file: "/tmp/p/test.yaml", defaultName: "test", catalog: .builtIn)
    }

    func configError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try parse(text)
            XCTFail("expected a ConfigError", file: file, line: line)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            XCTFail("expected a ConfigError, got \(error)", file: file, line: line)
            return nil
        }
    }

    func testDefaultsAndRelativePaths() throws {
        let p = try parse(base + "  - kind: filter\n  - kind: write\n")
        XCTAssertEqual(p.name, "test")
        XCTAssertEqual(p.seed, 7)
        XCTAssertEqual(p.batchSize, PipelineFile.defaultBatchSize)
        XCTAssertEqual((p.source as? SourceConfig)?.instances, "/tmp/p/data/instances.json")
        XCTAssertEqual(p.stages.map(\.id), ["filter", "write"])
        let filter = try XCTUnwrap(p.stages[0].config as? FilterConfig)
        XCTAssertEqual(filter.minObjectArea, 0.02)
        XCTAssertEqual(filter.objectArea, .union)
        let plan = ResolvedPlan(p)
        XCTAssertEqual(plan.stages.map(\.input), ["load", "filter"])
        let yaml = try plan.yaml()
        XCTAssertTrue(yaml.contains("min_object_area: 0.02"), yaml)
    }

    func testUnknownKeyNamesLineColumnAndNearestKey() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filter\n    min_objekt_area: 0.1\n  - kind: write\n"))
        XCTAssertEqual(error.line, 8)
        XCTAssertEqual(error.column, 5)
        XCTAssertTrue(error.message.contains("min_objekt_area"))
        XCTAssertTrue(error.hint?.contains("did you mean `min_object_area`") == true, error.description)
        XCTAssertTrue(error.hint?.contains("drop_crowd") == true, "lists the valid keys")
    }

    func testUnknownTopLevelKey() throws {
        let error = try XCTUnwrap(configError("sed: 1\n" + base + "  - kind: write\n"))
        XCTAssertEqual(error.line, 1)
        XCTAssertTrue(error.hint?.contains("`seed`") == true, error.description)
    }

    func testWrongTypeNamesTheKeyAndPosition() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filter\n    drop_crowd: maybe\n  - kind: write\n"))
        XCTAssertEqual(error.line, 8)
        XCTAssertTrue(error.message.contains("drop_crowd"), error.description)
        XCTAssertTrue(error.message.contains("true or false"), error.description)
    }

    func testMissingRequiredValue() throws {
        let error = try XCTUnwrap(configError("source:\n  format: coco\n  images: x\nstages:\n  - kind: write\n"))
        XCTAssertTrue(error.description.contains("instances"), error.description)
    }

    func testUnknownStageKindSuggests() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filtr\n"))
        XCTAssertTrue(error.hint?.contains("did you mean `filter`") == true, error.description)
        XCTAssertEqual(error.line, 7)
    }

    func testInputMustNameAnEarlierStage() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filter\n  - kind: write\n    input: filtr\n"))
        XCTAssertTrue(error.message.contains("filtr"), error.description)
        XCTAssertTrue(error.hint?.contains("did you mean `filter`") == true, error.description)
    }

    func testStageAfterWriteNeedsAnInput() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: write\n  - id: second\n    kind: write\n"))
        XCTAssertTrue(error.message.contains("follows a write stage"), error.description)
        XCTAssertNoThrow(try parse(base + "  - kind: filter\n  - kind: write\n  - id: second\n    kind: write\n    input: filter\n"))
    }

    func testDuplicateIds() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filter\n  - id: filter\n    kind: filter\n    input: load\n"))
        XCTAssertTrue(error.message.contains("used twice"), error.description)
    }

    func testOutOfRangeValue() throws {
        let error = try XCTUnwrap(configError(base + "  - kind: filter\n    min_object_area: 2\n"))
        XCTAssertTrue(error.description.contains("between 0 and 1"), error.description)
    }

    func testVOCSourceDefaultsAndWrongFormatKeys() throws {
        let p = try parse("source:\n  format: voc\n  devkit: VOCdevkit\nstages:\n  - kind: write\n")
        XCTAssertEqual((p.source as? SourceConfig)?.splits, ["VOC2007/trainval"])
        XCTAssertEqual((p.source as? SourceConfig)?.classes?.count, 20)
        let error = try XCTUnwrap(configError("source:\n  format: voc\n  devkit: d\n  instances: x.json\nstages:\n  - kind: write\n"))
        XCTAssertTrue(error.description.contains("belong to format coco"), error.description)
    }

    func testNotYAML() throws {
        XCTAssertNotNil(configError("source: [unclosed\n"))
        XCTAssertNotNil(configError(""))
    }

    func testValueErrorsNameTheLineAndWhatIsAllowed() throws {
        let stage = "  - kind: generate\n    model: m\n"
        // Line 9 holds the value in each case (the base is 6 lines, then the stage's two).
        let scheduler = try XCTUnwrap(configError(base + stage + "    scheduler: euler-a\n  - kind: label\n  - kind: write\n"))
        XCTAssertEqual(scheduler.line, 9, scheduler.description)
        XCTAssertTrue(scheduler.description.contains("`euler-a` is not one of: dpm-solver++, ddim, euler"), scheduler.description)
        XCTAssertFalse(scheduler.description.contains("Cannot initialize"), scheduler.description)
        let ratio = try XCTUnwrap(configError(base + stage + "    encode_ratio: [0.5, 1.5]\n  - kind: label\n  - kind: write\n"))
        XCTAssertEqual(ratio.line, 9, ratio.description)
        XCTAssertTrue(ratio.description.contains("encode_ratio lies in (0, 1]") && !ratio.description.contains("DecodingError"), ratio.description)
        let nan = try XCTUnwrap(configError(base + stage + "    guidance: .nan\n  - kind: label\n  - kind: write\n"))
        XCTAssertTrue(nan.description.contains("`.nan` is not a number"), nan.description)
        let tiny = try XCTUnwrap(configError(base + stage + "    encode_ratio: 0.001\n  - kind: label\n  - kind: write\n"))
        XCTAssertTrue(tiny.description.contains("runs no denoising step"), tiny.description)
    }

    func testConfidenceThresholdFromTheAdapterCalibration() throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("calibrated-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: model) }
        let adapter = model.appendingPathComponent("adapter")
        try FileManager.default.createDirectory(at: adapter, withIntermediateDirectories: true)
        let config = #"{"channels": 64, "tap_channels": {"1": 8, "2": 8, "4": 8, "8": 8}, "classes": [{"id": 1, "name": "a"}]"#
        try (config + "}").write(to: adapter.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let stages = "  - kind: generate\n    model: \(model.path)\n  - kind: label\n  - kind: confidence\n    threshold: adapter\n  - kind: write\n"
        let uncalibrated = try XCTUnwrap(configError(base + stages))
        XCTAssertTrue(uncalibrated.description.contains("has no calibration") && uncalibrated.description.contains("calibrate_adapter.py"),
                      uncalibrated.description)
        try (config + #", "calibration": {"threshold": 0.61, "precision": 0.63, "recall": 0.28, "label_mode": "taps"}}"#)
            .write(to: adapter.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let plan = ResolvedPlan(try parse(base + stages))
        let confidence = try XCTUnwrap(plan.stages.compactMap { $0.config as? ConfidenceConfig }.first)
        XCTAssertEqual(confidence.threshold, 0.61)
        XCTAssertEqual(confidence.calibratedBy?.precision, 0.63)
        XCTAssertEqual(confidence.dependencies, [adapter.path], "the calibration is part of the run's fingerprint")
        let yaml = try plan.yaml()
        XCTAssertTrue(yaml.contains("threshold: 0.61") && yaml.contains("precision: 0.63"), "validate shows the number: \(yaml)")
    }
}
