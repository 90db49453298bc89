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
}
