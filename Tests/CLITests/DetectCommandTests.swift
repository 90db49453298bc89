import Foundation
import XCTest

/// `dataengine detect` on the sd2-like parity model with a random adapter (Tests/AdapterTests/Fixtures): COCO
/// results JSON for the demo val split, the same bytes for any thread count, ids from --gt or file names.
final class DetectCommandTests: XCTestCase {
    var temp: URL!
    var model: URL { temp.appendingPathComponent("model") }
    var demo: URL { CLIHarness.repositoryRoot.appendingPathComponent("data/demo/coco") }

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("detect-\(UUID().uuidString)")
        try CLIHarness.makeTinyModel(at: model)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func testWritesCOCOResultsForAGroundTruthSplit() throws {
        let gt = demo.appendingPathComponent("annotations/instances_val.json").path
        let out1 = temp.appendingPathComponent("r1.json"), out2 = temp.appendingPathComponent("r2.json")
        let first = try CLIHarness.run(["detect", "--model", model.path, "--gt", gt, "--images", demo.appendingPathComponent("val").path,
                                        "--out", out1.path, "--threads", "1"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.stderr.contains("t = 20"), first.stderr)
        XCTAssertTrue(first.stderr.contains("ETA"), first.stderr)
        let second = try CLIHarness.run(["detect", "--model", model.path, "--gt", gt, "--images", demo.appendingPathComponent("val").path,
                                         "--out", out2.path, "--threads", "2"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(try Data(contentsOf: out1), try Data(contentsOf: out2), "same bytes for 1 and 2 threads")

        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out1)) as? [[String: Any]])
        let gtJSON = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: gt))) as? [String: Any])
        let imageIds = Set((gtJSON["images"] as! [[String: Any]]).map { $0["id"] as! Int })
        XCTAssertGreaterThan(results.count, imageIds.count, "a random adapter finds plenty")
        XCTAssertLessThanOrEqual(results.count, 100 * imageIds.count)
        for r in results {
            XCTAssertTrue(imageIds.contains(r["image_id"] as! Int))
            XCTAssertTrue([1, 3, 7, 12, 20].contains(r["category_id"] as! Int))
            let box = r["bbox"] as! [Double]
            XCTAssertEqual(box.count, 4)
            XCTAssertTrue(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= 128.01 && box[1] + box[3] <= 128.01, "\(box)")
            XCTAssertGreaterThan(r["score"] as! Double, 0.05)
        }
    }

    /// COCO-DE ids are 10^12 + ...: the results keep all 64 bits (a 32-bit format once wrapped them negative).
    func testGeneratedImageIdsSurviveInTheResults() throws {
        let source = demo.appendingPathComponent("annotations/instances_val.json")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        let offset = 1_000_000_000_000
        json["images"] = (json["images"] as! [[String: Any]]).prefix(2).map { image -> [String: Any] in
            var copy = image
            copy["id"] = (image["id"] as! Int) + offset
            return copy
        }
        json["annotations"] = (json["annotations"] as! [[String: Any]]).map { a -> [String: Any] in
            var copy = a
            copy["image_id"] = (a["image_id"] as! Int) + offset
            return copy
        }
        let gt = temp.appendingPathComponent("big-ids.json"), out = temp.appendingPathComponent("r.json")
        try JSONSerialization.data(withJSONObject: json).write(to: gt)
        let result = try CLIHarness.run(["detect", "--model", model.path, "--gt", gt.path, "--images", demo.appendingPathComponent("val").path,
                                         "--out", out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [[String: Any]])
        let ids = Set((json["images"] as! [[String: Any]]).map { $0["id"] as! Int })
        XCTAssertFalse(results.isEmpty)
        XCTAssertTrue(results.allSatisfy { ids.contains($0["image_id"] as! Int) }, "\(Set(results.map { $0["image_id"] as! Int }))")
    }

    func testImageArgumentsTakeTheirIdsFromTheFileName() throws {
        let out = temp.appendingPathComponent("r.json")
        let image = demo.appendingPathComponent("val").appendingPathComponent(try firstValImage())
        let result = try CLIHarness.run(["detect", "--model", model.path, image.path, "--out", out.path, "--min-score", "0.2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [[String: Any]])
        let id = Int(image.deletingPathExtension().lastPathComponent)!
        XCTAssertTrue(results.allSatisfy { $0["image_id"] as? Int == id && ($0["score"] as! Double) >= 0.2 })
    }

    func testMissingAdapterSaysHowToGetOne() throws {
        try FileManager.default.removeItem(at: model.appendingPathComponent("adapter"))
        let result = try CLIHarness.run(["detect", "--model", model.path, "x.jpg", "--out", temp.appendingPathComponent("r.json").path])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("adapter"), result.stderr)
        XCTAssertTrue(result.stderr.contains("train_adapter.py"), result.stderr)
    }

    private func firstValImage() throws -> String {
        try FileManager.default.contentsOfDirectory(atPath: demo.appendingPathComponent("val").path).filter { $0.hasSuffix(".jpg") }.sorted()[0]
    }
}
