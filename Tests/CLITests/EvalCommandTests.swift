import Foundation
import XCTest

/// `dataengine eval` on a committed pycocotools case (Tests/EvaluationTests/Fixtures/eval).
final class EvalCommandTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("cli-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    var fixture: URL { CLIHarness.repositoryRoot.appendingPathComponent("Tests/EvaluationTests/Fixtures/eval/random-mixed") }

    func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: fixture.appendingPathComponent("expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testPrintsPycocotoolsSummaryAndWritesJSON() throws {
        let out = temp.appendingPathComponent("eval.json")
        let result = try CLIHarness.run(["eval", "--gt", fixture.appendingPathComponent("gt.json").path,
                                         "--pred", fixture.appendingPathComponent("results.json").path, "--json", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let expected = try expected()
        let lines = try XCTUnwrap(expected["lines"] as? [String])
        XCTAssertEqual(lines.count, 12)
        let printed = result.stdout.split(separator: "\n").map(String.init).filter { $0.hasPrefix(" Average") }
        XCTAssertEqual(printed, lines, "pycocotools' lines, character for character")
        XCTAssertTrue(result.stdout.contains(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.245"), result.stdout)
        XCTAssertTrue(result.stdout.contains("AP per category"), result.stdout)
        XCTAssertTrue(result.stdout.contains("class90"), "the category without boxes is listed:\n\(result.stdout)")

        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any])
        let stats = try XCTUnwrap(written["stats"] as? [Double])
        let names = try XCTUnwrap(written["stat_names"] as? [String])
        let reference = try XCTUnwrap(expected["stats"] as? [Double])
        XCTAssertEqual(names, ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"])
        XCTAssertEqual(stats.count, 12)
        for (ours, theirs) in zip(stats, reference) { XCTAssertEqual(ours, theirs, accuracy: 1e-9) }
        let perCategory = try XCTUnwrap(written["per_category"] as? [[String: Any]])
        XCTAssertEqual(perCategory.compactMap { $0["id"] as? Int }, [1, 3, 7, 8, 12, 90])
        XCTAssertEqual(perCategory.last?["ap"] as? Double, -1, "no boxes: undefined")
    }

    func testABadResultsFileExits1NamingTheFileAndTheDetection() throws {
        let bad = temp.appendingPathComponent("results.json")
        try #"[{"image_id": 1000, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.5},"#.appending("\n")
            .appending(#" {"image_id": 1000, "category_id": 1, "bbox": [0, 0, 10], "score": 0.4}]"#)
            .write(to: bad, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["eval", "--gt", fixture.appendingPathComponent("gt.json").path, "--pred", bad.path])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains(bad.path), result.stderr)
        XCTAssertTrue(result.stderr.contains("detection #1"), result.stderr)
        XCTAssertTrue(result.stderr.contains("4 numbers"), result.stderr)
        XCTAssertTrue(result.stderr.contains("hint:"), result.stderr)
        XCTAssertFalse(result.stdout.contains("Average Precision"), "no numbers from a file that could not be read")
    }

    func testAnEmptyResultsListScoresZeroWithANote() throws {
        let empty = temp.appendingPathComponent("empty.json")
        try "[]".write(to: empty, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["eval", "--gt", fixture.appendingPathComponent("gt.json").path, "--pred", empty.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("maxDets=100 ] = 0.000"), result.stdout)
        XCTAssertTrue(result.stderr.contains("no detections"), result.stderr)
    }
}
