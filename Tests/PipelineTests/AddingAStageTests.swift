import XCTest
import Logging
import Datasets
@testable import Pipeline
import Support

// The worked example of docs/architecture.md ("Adding a stage"), verbatim: a stage kind that keeps the images with
// at least `min_boxes` boxes. Keep the two in step.

/// `kind: min-boxes`: keep images with at least `min_boxes` boxes.
struct MinBoxesConfig: StageConfig, Equatable {
    var minBoxes = 1

    enum CodingKeys: String, CodingKey { case minBoxes = "min_boxes" }

    init() {}

    init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.decodeIfPresent(.minBoxes, into: &minBoxes)   // absent: keeps the default above
        guard minBoxes >= 0 else {
            throw DecodingError.dataCorruptedError(forKey: .minBoxes, in: c, debugDescription: "min_boxes is a count, 0 or more")
        }
    }
}

final class MinBoxesStage: Stage {
    let config: MinBoxesConfig
    init(config: MinBoxesConfig) { self.config = config }

    func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        for item in input.items {
            if item.annotations.count >= config.minBoxes {
                out.items.append(item)
            } else {
                out.drop(item, reason: "too-few-boxes", message: "\(item.annotations.count) boxes")
            }
        }
        out.count("boxes-kept", out.items.reduce(0) { $0 + $1.annotations.count })
        return out
    }
}

extension StageKind {
    static let minBoxes = StageKind.typed("min-boxes", summary: "keep images with at least min_boxes boxes",
                                          config: MinBoxesConfig.self, make: { MinBoxesStage(config: $0) })
}
// End of the worked example.

final class AddingAStageTests: XCTestCase {
    func testTheWorkedExampleRunsInAPipeline() throws {
        let temp = FileManager.default.temporaryDirectory.appendingPathComponent("adding-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temp) }
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        // Images 1-6; image k has k % 3 boxes.
        var images: [String] = [], annotations: [String] = []
        var next = 1
        for id in 1...6 {
            images.append(#"{"id": \#(id), "file_name": "\#(id).jpg", "width": 100, "height": 100}"#)
            for _ in 0..<(id % 3) {
                annotations.append(#"{"id": \#(next), "image_id": \#(id), "category_id": 1, "bbox": [1, 1, 5, 5], "area": 25, "iscrowd": 0}"#)
                next += 1
            }
        }
        try #"{"images": [\#(images.joined(separator: ","))], "annotations": [\#(annotations.joined(separator: ","))], "categories": [{"id": 1, "name": "thing"}]}"#
            .write(to: temp.appendingPathComponent("instances.json"), atomically: true, encoding: .utf8)
        try """
            batch_size: 4
            source: {instances: instances.json, images: .}
            stages:
              - kind: min-boxes
                min_boxes: 2
              - id: out
                kind: test-collect
            """.write(to: temp.appendingPathComponent("p.yaml"), atomically: true, encoding: .utf8)
        let report = try PipelineRun.start(pipelinePath: temp.appendingPathComponent("p.yaml").path, catalog: StageCatalog.test.adding(.minBoxes),
                                           runDirectory: temp.appendingPathComponent("run"), logger: Logger(label: "test"), options: .init(workers: 2))
        let row = try XCTUnwrap(report.stages.first { $0.id == "min-boxes" })
        XCTAssertEqual(row.itemsOut, 2, "images 2 and 5 have two boxes")
        XCTAssertEqual(row.dropped["too-few-boxes"], 4)
        XCTAssertEqual(row.counters["boxes-kept"], 4)
        let all = try String(contentsOf: temp.appendingPathComponent("run/output/out/all.txt"), encoding: .utf8)
        XCTAssertTrue(all.hasPrefix("2 5\n"), all)
        let plan = try String(contentsOf: temp.appendingPathComponent("run/plan.json"), encoding: .utf8)
        XCTAssertTrue(plan.contains("\"min_boxes\" : 2"), "the config, defaults filled in, is part of the plan: \(plan)")
    }
}
