import Foundation
import XCTest

/// Run directories at the edges of their life: killed before they started, failed, finished, and empty outputs.
final class RunLifecycleTests: XCTestCase {
    var temp: URL!
    var pipeline: URL!
    let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("life-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        pipeline = temp.appendingPathComponent("tiny.yaml")
        try write(pipeline, minObjectArea: 0.05)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func write(_ url: URL, minObjectArea: Double) throws {
        try """
            seed: 3
            batch_size: 4
            source:
              format: coco
              instances: \(demo)/coco/annotations/instances_train.json
              images: \(demo)/coco/train
              limit: 8
            stages:
              - kind: filter
                min_object_area: \(minObjectArea)
              - id: coco
                kind: write
            """.write(to: url, atomically: true, encoding: .utf8)
    }

    func outputs(_ dir: URL) -> [String: Data] { CLIHarness.files(under: dir.appendingPathComponent("output")) }

    func testARunKilledBeforeItsPlanWasWrittenResumesFromItsPipelineFile() throws {
        let reference = temp.appendingPathComponent("reference")
        XCTAssertEqual(try CLIHarness.run(["run", pipeline.path, "--run-dir", reference.path]).status, 0)
        // What a run killed in its first moments leaves: the lock, origin.json and the pipeline copy, no plan.json.
        let early = temp.appendingPathComponent("early")
        try FileManager.default.createDirectory(at: early, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: early.appendingPathComponent("lock").path, contents: Data())
        try #"{"pipelinePath": "\#(pipeline.path)"}"#.write(to: early.appendingPathComponent("origin.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: pipeline, to: early.appendingPathComponent("pipeline.yaml"))
        let resumed = try CLIHarness.run(["resume", early.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(outputs(early), outputs(reference))
    }

    func testAFolderWithoutAPlanIsFreeForRun() throws {
        // A failed run leaves runs/<name>/log.txt only: the next `run` uses that folder, not runs/<name>-2.
        let runs = temp.appendingPathComponent("runs/tiny")
        try FileManager.default.createDirectory(at: runs, withIntermediateDirectories: true)
        try "failed\n".write(to: runs.appendingPathComponent("log.txt"), atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["run", pipeline.path], directory: temp)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: runs.appendingPathComponent("plan.json").path), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.appendingPathComponent("runs/tiny-2").path))
    }

    func testAFinishedRunIsLeftAsItIsByResumeAndRun() throws {
        let dir = temp.appendingPathComponent("done")
        let first = try CLIHarness.run(["run", pipeline.path, "--run-dir", dir.path])
        XCTAssertEqual(first.status, 0, first.stderr)
        let report = dir.appendingPathComponent("report.md")
        let before = try Data(contentsOf: report)
        let modified = try FileManager.default.attributesOfItem(atPath: report.path)[.modificationDate] as? Date
        for arguments in [["resume", dir.path], ["run", pipeline.path, "--run-dir", dir.path]] {
            let again = try CLIHarness.run(arguments)
            XCTAssertEqual(again.status, 0, "\(arguments): \(again.stderr)")
            XCTAssertTrue(again.stdout.contains("coco (write)"), "prints the summary: \(again.stdout)")
            XCTAssertEqual(try Data(contentsOf: report), before, "\(arguments) rewrote the report")
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: report.path)[.modificationDate] as? Date, modified)
        }
        // Sharding belongs to `run`: resume takes its shard from the run directory and has no such option.
        let shardOption = try CLIHarness.run(["resume", dir.path, "--shard", "0/2"])
        XCTAssertEqual(shardOption.status, 2, shardOption.stderr)
        // The wall time is every process's: here one, whose time file the report sums.
        let times = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("times").path)
        XCTAssertEqual(times.count, 1, "\(times)")
    }

    func testARunThatWritesNoImagesFailsWithTheReason() throws {
        let empty = temp.appendingPathComponent("empty.yaml")
        try write(empty, minObjectArea: 0.99)
        let result = try CLIHarness.run(["run", empty.path, "--run-dir", temp.appendingPathComponent("empty").path])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("wrote no images") && result.stderr.contains("`filter`") && result.stderr.contains("small-objects"),
                      result.stderr)
    }
}
