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
}
