import Foundation
import XCTest

/// What a user sees: help with examples, exit codes, errors that say where and how to fix.
final class CLIBehaviourTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    var demo: String { CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path }

    func testHelpExplainsWithExamples() throws {
        let top = try CLIHarness.run(["--help"])
        XCTAssertEqual(top.status, 0)
        for sub in ["run", "resume", "validate", "stats", "eval", "generate", "bench"] { XCTAssertTrue(top.stdout.contains(sub), top.stdout) }
        for sub in ["run", "resume", "validate", "stats", "eval", "generate"] {
            let help = try CLIHarness.run([sub, "--help"])
            XCTAssertEqual(help.status, 0)
            XCTAssertTrue(help.stdout.contains("Example"), "\(sub) --help has an example:\n\(help.stdout)")
        }
    }

    func testBadUsageExits2() throws {
        let result = try CLIHarness.run(["run", "x.yaml", "--workers", "0"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertEqual(try CLIHarness.run(["frobnicate"]).status, 2)
    }

    func testBadPipelineFileExits2WithLineAndColumn() throws {
        let file = temp.appendingPathComponent("bad.yaml")
        try "source:\n  format: coco\n  instances: a.json\n  images: i\n  limt: 3\nstages:\n  - kind: write\n".write(to: file, atomically: true, encoding: .utf8)
        for command in ["validate", "run"] {
            let result = try CLIHarness.run([command, file.path, "--run-dir", temp.appendingPathComponent("r").path].prefix(command == "run" ? 4 : 2).map { $0 })
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains("bad.yaml:5:3: unknown key `limt`"), result.stderr)
            XCTAssertTrue(result.stderr.contains("did you mean `limit`"), result.stderr)
        }
    }

    func testMissingDataExits1AndNamesTheFile() throws {
        let file = temp.appendingPathComponent("missing.yaml")
        try "source:\n  format: coco\n  instances: nowhere/instances.json\n  images: nowhere/images\nstages:\n  - kind: write\n".write(to: file, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["validate", file.path])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(temp.appendingPathComponent("nowhere/instances.json").path), result.stderr)
        XCTAssertTrue(result.stderr.contains("data/README.md"), result.stderr)
    }

    func testValidatePrintsTheResolvedPlanForTheShippedPipelines() throws {
        for name in ["demo-filter", "demo-voc-to-coco"] {
            let path = CLIHarness.repositoryRoot.appendingPathComponent("pipelines/\(name).yaml").path
            let result = try CLIHarness.run(["validate", path])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("OK:"), result.stdout)
            XCTAssertTrue(result.stdout.contains("batch_size"), result.stdout)
            XCTAssertTrue(result.stdout.contains("images: "), result.stdout)
        }
        let demo = try CLIHarness.run(["validate", CLIHarness.repositoryRoot.appendingPathComponent("pipelines/demo-filter.yaml").path])
        XCTAssertTrue(demo.stdout.contains("drop_crowd: false"), "defaults are filled in:\n\(demo.stdout)")
    }

    func testStatsWritesTablesCSVAndChart() throws {
        let out = temp.appendingPathComponent("stats")
        let result = try CLIHarness.run(["stats", "\(demo)/coco/annotations/instances_val.json", "--out", out.path,
                                         "--reference", "\(demo)/coco/annotations/instances_train.json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        for file in ["stats.md", "stats.json", "stats.csv", "stats.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        XCTAssertTrue(result.stdout.contains("circle"), result.stdout)
        let voc = try CLIHarness.run(["stats", "\(demo)/VOCdevkit", "--split", "VOC2007/val", "--classes", "circle,square,triangle,star,ring",
                                      "--out", temp.appendingPathComponent("voc").path])
        XCTAssertEqual(voc.status, 0, voc.stderr)
    }
}
