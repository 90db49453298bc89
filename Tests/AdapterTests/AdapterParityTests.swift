import Foundation
import XCTest
import Diffusion
import Tensors
@testable import Adapter

/// The Swift adapter against tools/adapter_model.py on the fixtures of tools/make_adapter_fixtures.py: the
/// head's outputs per level, the candidates (boxes and scores within 1e-3 before NMS) and the identical kept set.
final class AdapterParityTests: XCTestCase {
    static let cases = ["square", "wide", "odd"]

    static var fixtures: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    func testHeadOutputsCandidatesAndKeptSetMatchPyTorch() throws {
        var worst: Float = 0
        for name in Self.cases {
            let folder = Self.fixtures.appendingPathComponent(name)
            let adapter = try DetectionAdapter(folder: folder)
            let expected = try SafeTensorsFile(url: folder.appendingPathComponent("expected.safetensors"))
            let taps = UNetFeatureTaps(timestep: 1, byStride: Dictionary(uniqueKeysWithValues: try AdapterConfig.tapStrides.map {
                ($0, try expected.tensor("stride\($0)"))
            }))
            let outputs = try adapter.forward(taps)
            XCTAssertEqual(outputs.count, 5)
            for (l, output) in outputs.enumerated() {
                for (key, got) in [("cls", output.classLogits), ("ltrb", output.distances), ("ctr", output.centerness)] {
                    let want = try expected.tensor("level\(l).\(key)")
                    XCTAssertEqual(got.shape, want.shape, "\(name) level\(l).\(key)")
                    let error = maxRelative(got.scalars, want.scalars)
                    worst = max(worst, error)
                    XCTAssertLessThan(error, 1e-4, "\(name) level\(l).\(key)")
                }
            }

            let candidates = adapter.candidates(outputs)
            let boxes = try expected.tensor("candidates.boxes").scalars, scores = try expected.tensor("candidates.scores").scalars
            let labels = try expected.tensor("candidates.labels").scalars, levels = try expected.tensor("candidates.levels").scalars
            let locations = try expected.tensor("candidates.locations").scalars
            XCTAssertEqual(candidates.count, scores.count, "\(name): candidate count")
            guard candidates.count == scores.count else { continue }
            XCTAssertGreaterThan(candidates.count, 100, "\(name): a fixture with real work")
            for (i, c) in candidates.enumerated() {
                XCTAssertEqual(c.classIndex, Int(labels[i]), "\(name) candidate \(i) class")
                XCTAssertEqual(c.level, Int(levels[i]), "\(name) candidate \(i) level")
                XCTAssertEqual(c.location, Int(locations[i]), "\(name) candidate \(i) location")
                XCTAssertEqual(c.score, scores[i], accuracy: 1e-3, "\(name) candidate \(i) score")
                for (j, v) in [c.box.x0, c.box.y0, c.box.x1, c.box.y1].enumerated() {
                    XCTAssertEqual(v, boxes[i * 4 + j], accuracy: 1e-3 * max(1, abs(boxes[i * 4 + j])), "\(name) candidate \(i) box")
                }
            }

            let size = try expected.tensor("image_size").scalars
            let (detections, kept) = adapter.detect(outputs, height: Int(size[0]), width: Int(size[1]))
            XCTAssertEqual(kept, try expected.tensor("detections.kept").scalars.map { Int($0) }, "\(name): the kept set, in order")
            let finalBoxes = try expected.tensor("detections.boxes").scalars
            XCTAssertEqual(detections.count, finalBoxes.count / 4)
            XCTAssertLessThan(detections.count, candidates.count, "\(name): NMS or the cap removed something")
            for (i, d) in detections.enumerated() where i * 4 + 3 < finalBoxes.count {
                for (j, v) in [d.x0, d.y0, d.x1, d.y1].enumerated() {
                    XCTAssertEqual(v, finalBoxes[i * 4 + j], accuracy: 1e-3 * max(1, abs(finalBoxes[i * 4 + j])))
                }
                XCTAssertTrue(d.x0 >= 0 && d.y0 >= 0 && d.x1 <= Float(size[1]) && d.y1 <= Float(size[0]), "clipped to the image")
                XCTAssertEqual(d.categoryId, adapter.config.classes[d.classIndex].categoryId)
            }
            XCTAssertLessThanOrEqual(detections.count, adapter.config.maxDetections)
        }
        print(String(format: "adapter parity, worst relative error of the head's outputs: %.2e", worst))
    }

    private func maxRelative(_ a: [Float], _ b: [Float]) -> Float {
        var m: Float = 0, s: Float = 0
        for (x, y) in zip(a, b) { m = max(m, abs(x - y)); s = max(s, abs(y)) }
        return m / max(s, 1e-12)
    }
}
