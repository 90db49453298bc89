import Foundation
import XCTest

/// Non-finite numbers never trap the process: NaN weights are refused at load with the tensor named, and
/// guidance that would blow images up to NaN is refused before any compute.
final class NonFiniteTests: XCTestCase {
    var temp: URL!
    var model: URL { temp.appendingPathComponent("model") }

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(UUID().uuidString)")
        try CLIHarness.makeTinyModel(at: model)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    /// Writes NaN (F16 0x7E00) into the first element of `key` in a safetensors file.
    func poison(_ file: URL, key: String) throws {
        var bytes = [UInt8](try Data(contentsOf: file))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let entry = try XCTUnwrap(header[key] as? [String: Any], "no \(key) in \(file.lastPathComponent)")
        XCTAssertEqual(entry["dtype"] as? String, "F16")
        let begin = try XCTUnwrap((entry["data_offsets"] as? [Int])?.first)
        bytes[8 + n + begin] = 0x00
        bytes[8 + n + begin + 1] = 0x7E
        try Data(bytes).write(to: file)
    }

    func testNaNWeightsAreRefusedAtLoadNamingTheTensor() throws {
        let key = "decoder.conv_out.weight"
        try poison(model.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"), key: key)
        let image = CLIHarness.repositoryRoot.appendingPathComponent("data/demo/coco/val").path
        let first = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: image).sorted().first)
        let result = try CLIHarness.run(["generate", "--model", model.path, "--prompt", "a", "--image", image + "/" + first, "--size", "32x32",
                                         "--steps", "2", "--out", temp.appendingPathComponent("o.jpg").path])
        XCTAssertEqual(result.status, 1, "an error, not a trap (signal 4 = 132): \(result.stderr)")
        XCTAssertTrue(result.stderr.contains(key) && result.stderr.contains("non-finite"), result.stderr)
    }

    func testGuidanceThatIsNotFiniteOrTooLargeIsRefusedBeforeAnyCompute() throws {
        for value in ["inf", "nan", "1e300"] {
            let result = try CLIHarness.run(["generate", "--model", model.path, "--prompt", "a", "--image", "x.jpg", "--guidance", value,
                                             "--out", temp.appendingPathComponent("o.jpg").path])
            XCTAssertEqual(result.status, 2, result.stderr)
            XCTAssertTrue(result.stderr.contains("--guidance"), result.stderr)
        }
        let missing = try CLIHarness.run(["generate", "--model", model.path, "--prompt", "a", "--image", "x.jpg", "--out", "/nonexistent/dir/o.jpg"])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/dir"), missing.stderr)
    }

    func testAPipelineWithHugeGuidanceIsRefusedByValidate() throws {
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path
        for guidance in ["1e300", ".nan", ".inf", "[1, .inf]"] {
            let pipeline = temp.appendingPathComponent("g.yaml")
            try """
                source: {format: coco, instances: \(demo)/coco/annotations/instances_val.json, images: \(demo)/coco/val}
                stages:
                  - kind: generate
                    model: model
                    guidance: \(guidance)
                  - kind: label
                  - kind: write
                """.write(to: pipeline, atomically: true, encoding: .utf8)
            let result = try CLIHarness.run(["validate", pipeline.path, "--no-estimate"])
            XCTAssertEqual(result.status, 2, "guidance \(guidance): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("guidance"), "guidance \(guidance): \(result.stderr)")
        }
    }
}
