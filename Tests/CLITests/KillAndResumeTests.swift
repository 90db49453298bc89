import Foundation
import XCTest
import Datasets
#if canImport(Glibc)
import Glibc
import Support
#endif

/// The promise of the run directory: kill a run at any moment (SIGKILL, Ctrl-C), resume it, and get exactly
/// the bytes an uninterrupted run writes; and the worker count never changes a byte.
final class KillAndResumeTests: XCTestCase {
    var temp: URL!
    var pipeline: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path
        pipeline = temp.appendingPathComponent("tiny.yaml")
        // 24 images in 12 batches of 2, through filter, a COCO writer and a VOC writer: ~40 units.
        try """
            seed: 11
            batch_size: 2
            source:
              format: coco
              instances: \(demo)/coco/annotations/instances_train.json
              captions: \(demo)/coco/annotations/captions_train.json
              images: \(demo)/coco/train
              limit: 24
            stages:
              - kind: filter
                min_object_area: 0.05
              - id: coco
                kind: write
              - id: voc
                kind: write
                input: filter
                format: voc
            """.write(to: pipeline, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func outputs(_ run: String) -> [String: Data] {
        CLIHarness.files(under: temp.appendingPathComponent(run).appendingPathComponent("output"))
    }

    func reference() throws -> [String: Data] {
        let result = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent("reference").path, "--workers", "1"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let files = outputs("reference")
        XCTAssertTrue(files.keys.contains("coco/annotations/instances_coco.json"), "\(files.keys.sorted())")
        XCTAssertTrue(files.keys.contains("voc/VOCdevkit/VOC2007/ImageSets/Main/trainval.txt"))
        XCTAssertTrue(files.keys.contains("coco/stats.md"))
        XCTAssertGreaterThan(files.keys.filter { $0.hasPrefix("coco/images/shard-") }.count, 10)
        return files
    }

    func testWorkerCountDoesNotChangeAByte() throws {
        let expected = try reference()
        let result = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent("two").path, "--workers", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(outputs("two"), expected)
    }

    func testSIGKILLAtRandomPointsThenResumeGivesTheSameBytes() throws {
        let expected = try reference()
        var rng = SeededRandom(seed: 2026)
        var killedMidRun = 0
        for attempt in 0..<3 {
            let dir = temp.appendingPathComponent("killed-\(attempt)").path
            // Kill three times at seeded random moments, resuming in between.
            let (finish, killed) = try CLIHarness.runKilling(pipeline: pipeline.path, dir: dir, kills: 3, random: &rng, unitDelayMs: 15,
                                                             minDelay: 20_000, spread: 400_000, resumeWorkers: 1 + attempt % 2)
            killedMidRun += killed
            XCTAssertEqual(finish.status, 0, finish.stderr)
            let got = outputs("killed-\(attempt)")
            XCTAssertEqual(Set(got.keys), Set(expected.keys), "attempt \(attempt): files differ")
            for (path, bytes) in expected where got[path] != bytes { XCTFail("attempt \(attempt): \(path) differs after kill and resume") }
            let leftovers = (FileManager.default.subpaths(atPath: dir) ?? []).filter { $0.hasSuffix(".partial") }
            XCTAssertEqual(leftovers, [], "temp files left behind")
        }
        XCTAssertGreaterThanOrEqual(killedMidRun, 4, "most kills must land while the run is in progress, or the test proves nothing")
    }

    func testCtrlCExits130AndSaysHowToResume() throws {
        let expected = try reference()
        let dir = temp.appendingPathComponent("interrupted").path
        let (process, _, err) = try CLIHarness.start(["run", pipeline.path, "--run-dir", dir, "--workers", "1"],
                                                     environment: ["DATAENGINE_UNIT_DELAY_MS": "40"])
        usleep(400_000)
        kill(process.processIdentifier, SIGINT)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("dataengine resume \(dir)"), stderr)
        let resumed = try CLIHarness.run(["resume", dir])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(outputs("interrupted"), expected)
    }

    func testSecondProcessOnTheSameRunDirectoryIsRefused() throws {
        let dir = temp.appendingPathComponent("busy").path
        let (process, _, _) = try CLIHarness.start(["run", pipeline.path, "--run-dir", dir, "--workers", "1"],
                                                   environment: ["DATAENGINE_UNIT_DELAY_MS": "50"])
        defer { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        var waited = 0
        while !FileManager.default.fileExists(atPath: dir + "/plan.json") && waited < 100 { usleep(20_000); waited += 1 }
        let second = try CLIHarness.run(["resume", dir])
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("another dataengine process"), second.stderr)
    }
}
