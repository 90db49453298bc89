import Foundation
import XCTest
import Diffusion
@testable import Adapter
import Support

final class AdapterConfigTests: XCTestCase {
    let base: [String: JSONValue] = [
        "channels": .int(64), "norm_num_groups": .int(32),
        "tap_channels": .object(["1": .int(96), "2": .int(128), "4": .int(128), "8": .int(192)]),
        "classes": .array([.object(["id": .int(1), "name": .string("circle")]), .object(["id": .int(20), "name": .string("ring")])]),
        "timestep_range": .array([.int(1), .int(50)]),
    ]

    func config(_ changes: [String: JSONValue]) throws -> AdapterConfig {
        try AdapterConfig(ComponentConfig(file: "adapter/config.json", values: base.merging(changes) { $1 }))
    }

    func testReadsSizesClassesAndDefaults() throws {
        let c = try config([:])
        XCTAssertEqual(c.tapChannels, [96, 128, 128, 192])
        XCTAssertEqual(c.classes.map(\.categoryId), [1, 20])
        XCTAssertEqual(c.levelStrides, [8, 16, 32, 64, 128])
        XCTAssertEqual(c.timestepRange, 1...50)
        XCTAssertEqual(c.scoreThreshold, 0.05)
        XCTAssertEqual(c.maxDetections, 100)
        XCTAssertEqual(c.headType, .fcos)
        XCTAssertFalse(c.readsVAEEncoder)
        XCTAssertTrue(try config(["vae_encoder_taps": .array([.string("mid_block")])]).readsVAEEncoder)
    }

    func testBadValuesNameTheKeyAndTheFix() {
        let cases: [([String: JSONValue], String)] = [
            (["head_type": .string("dino")], "head_type"),
            (["channels": .int(48)], "norm_num_groups"),
            (["tap_channels": .object(["1": .int(96)])], "stride 2"),
            (["classes": .array([])], "classes"),
            (["classes": .array([.object(["id": .string("x")])])], "entry 0"),
            (["timestep_range": .array([.int(50), .int(1)])], "timestep_range"),
            (["vae_encoder_taps": .array([.string("down_blocks.1")])], "supported: mid_block"),
        ]
        for (change, expected) in cases {
            XCTAssertThrowsError(try config(change)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(change): \(error)")
                XCTAssertTrue("\(error)".contains("adapter/config.json"), "\(error)")
            }
        }
    }

    func testNMSModeAndCalibration() throws {
        XCTAssertEqual(try config([:]).nms, .classwise)
        XCTAssertEqual(try config(["nms": .string("agnostic")]).nms, .agnostic)
        XCTAssertThrowsError(try config(["nms": .string("soft")])) { XCTAssertTrue("\($0)".contains("classwise, agnostic"), "\($0)") }
        XCTAssertNil(try config([:]).calibration)
        let calibrated = try config(["calibration": .object(["threshold": .double(0.61), "precision": .double(0.63), "recall": .double(0.28)])])
        XCTAssertEqual(calibrated.calibration?.threshold, 0.61)
        XCTAssertEqual(calibrated.calibration?.labelMode, "taps")
        XCTAssertThrowsError(try config(["calibration": .object(["threshold": .double(1.5), "precision": .double(0), "recall": .double(0)])]))
    }

    func testAgnosticNMSReducesOverlappingBoxesOfDifferentClassesToOne() {
        let boxes: [(x0: Float, y0: Float, x1: Float, y1: Float)] = [(0, 0, 10, 10), (1, 1, 10, 10), (20, 20, 30, 30)]
        XCTAssertEqual(ClasswiseNMS.keep(boxes: boxes, classes: [0, 1, 1], iouThreshold: 0.6), [0, 1, 2])
        XCTAssertEqual(ClasswiseNMS.keep(boxes: boxes, classes: [0, 1, 1], iouThreshold: 0.6, acrossClasses: true), [0, 2])
    }
}
