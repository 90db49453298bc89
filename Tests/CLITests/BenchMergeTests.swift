import Foundation
import XCTest

/// `bench merge` on a small synthetic source: with images excluded (the default) and with `--image-files`, the
/// merged file holds every image and the ratio is reported.
final class BenchMergeTests: XCTestCase {
    func testBenchMergeReportsBothModes() throws {
        for imageFiles in [false, true] {
            let arguments = ["bench", "merge", "--images", "60", "--annotations", "300", "--shards", "3", "--batch-size", "4", "--json"]
                + (imageFiles ? ["--image-files"] : [])
            let result = try CLIHarness.run(arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
            XCTAssertEqual(json["images"] as? Int, 60)
            XCTAssertEqual(json["annotations"] as? Int, 300)
            XCTAssertEqual(json["image_files"] as? Bool, imageFiles)
            let merge = try XCTUnwrap(json["merge_seconds"] as? Double), load = try XCTUnwrap(json["load_seconds"] as? Double)
            XCTAssertEqual(try XCTUnwrap(json["merge_over_load"] as? Double), merge / load, accuracy: 1e-9)
        }
    }

    /// `--reuse` merges the run root a `--keep` run left, reporting that run's shards and batch size, not the flags'.
    func testReuseMergesTheKeptRunRootAgain() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bench-merge-reuse-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let kept = try CLIHarness.run(["bench", "merge", "--images", "40", "--annotations", "200", "--shards", "2", "--batch-size", "4", "--keep", dir.path, "--json"])
        XCTAssertEqual(kept.status, 0, kept.stderr)
        let again = try CLIHarness.run(["bench", "merge", "--keep", dir.path, "--reuse", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any], again.stdout)
        XCTAssertEqual(json["images"] as? Int, 40)
        XCTAssertEqual(json["annotations"] as? Int, 200)
        XCTAssertEqual(json["shards"] as? Int, 2)
        XCTAssertEqual(json["batch_size"] as? Int, 4)
        let refused = try CLIHarness.run(["bench", "merge", "--reuse"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--reuse needs --keep DIR"), refused.stderr)
    }
}
