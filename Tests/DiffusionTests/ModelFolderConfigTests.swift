import Foundation
import XCTest
import Tensors
@testable import Diffusion
import Support

/// Config parsing (JSONValue, ComponentConfig) and the errors of broken model folders.
final class ModelFolderConfigTests: XCTestCase {
    private func config(_ json: String) throws -> ComponentConfig {
        let value = try JSONValue.parse(Data(json.utf8), file: "unet/config.json")
        return ComponentConfig(file: "unet/config.json", values: try XCTUnwrap(value.objectValue))
    }

    func testJSONValueParsing() throws {
        let v = try JSONValue.parse(Data(#"{"a": 1, "b": 1.5, "c": true, "d": null, "e": "s", "f": [1, "x"], "g": {"h": -2}, "big": 1e300}"#.utf8), file: "x.json")
        XCTAssertEqual(v["a"], .int(1))
        XCTAssertEqual(v["b"], .double(1.5))
        XCTAssertEqual(v["c"], .bool(true), "booleans stay booleans, not 1/0")
        XCTAssertEqual(v["d"], .null)
        XCTAssertEqual(v["e"], .string("s"))
        XCTAssertEqual(v["f"], .array([.int(1), .string("x")]))
        XCTAssertEqual(v["g"]?["h"]?.intValue, -2)
        XCTAssertEqual(v["big"]?.doubleValue, 1e300)
        XCTAssertNil(v["big"]?.intValue)
        XCTAssertEqual(JSONValue.double(3.0).intValue, 3)
        XCTAssertNil(JSONValue.double(3.5).intValue)
        XCTAssertNil(JSONValue.bool(true).intValue)
        XCTAssertThrowsError(try JSONValue.parse(Data("{\"a\": ".utf8), file: "broken.json")) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, "broken.json")
            XCTAssertTrue(e.message.contains("not valid JSON"), e.message)
        }
    }

    func testTypedAccessorErrorsNameFileAndField() throws {
        let c = try config(#"{"layers_per_block": "2", "block_out_channels": [320, "640"], "norm_eps": true, "act_fn": 3, "flag": 1, "heads": [8, 8, 8]}"#)
        func expectError(_ body: @autoclosure () throws -> Any, field: String, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard let e = error as? ModelLoadError else { return XCTFail("\(error)", line: line) }
                XCTAssertEqual(e.file, "unet/config.json", line: line)
                XCTAssertEqual(e.key, field, line: line)
                XCTAssertTrue(e.message.contains(fragment), "“\(e.message)” lacks “\(fragment)”", line: line)
            }
        }
        expectError(try c.int("layers_per_block"), field: "layers_per_block", "expected an integer, found a string (\"2\")")
        expectError(try c.ints("block_out_channels"), field: "block_out_channels", "expected an array of integers")
        expectError(try c.double("norm_eps"), field: "norm_eps", "expected a number, found a boolean")
        expectError(try c.string("act_fn"), field: "act_fn", "expected a string, found an integer")
        expectError(try c.bool("flag"), field: "flag", "expected a boolean")
        expectError(try c.int("sample_size"), field: "sample_size", "missing field")
        expectError(try c.strings("down_block_types"), field: "down_block_types", "missing field")
        expectError(try c.intOrInts("heads", count: 4), field: "heads", "expected 4 values")
        // Defaults apply only to absent/null fields, never to a wrong type.
        XCTAssertEqual(try c.int("sample_size", default: 64), 64)
        expectError(try c.int("layers_per_block", default: 2), field: "layers_per_block", "expected an integer")
        XCTAssertEqual(try c.intOrInts("heads", count: 3), [8, 8, 8])
        XCTAssertEqual(try c.strings("x", default: ["a"]), ["a"])
        XCTAssertNil(try c.optionalInt("x"))
    }

    func testDescriptionOfConfigError() throws {
        let c = try config(#"{"in_channels": 4.5}"#)
        XCTAssertThrowsError(try c.int("in_channels")) { error in
            XCTAssertEqual("\(error)", "unet/config.json: `in_channels`: expected an integer, found a number (4.5)\n  hint: fix the value of `in_channels` in the config")
        }
    }

    func testNotAFolderOrNoModelIndex() throws {
        let dir = try ModelFolderFixtures.temporaryDirectory(self)
        XCTAssertThrowsError(try ModelFolder(url: dir.appendingPathComponent("nope"))) { error in
            XCTAssertTrue((error as! ModelLoadError).message.contains("not found"))
        }
        XCTAssertThrowsError(try ModelFolder(url: dir)) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, dir.appendingPathComponent("model_index.json").path)
            XCTAssertTrue(e.message.contains("not a diffusers pipeline folder"), e.message)
            XCTAssertTrue(e.hint?.contains("ComponentFolder") == true)
        }
        try ModelFolderFixtures.write("not json", to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelFolder(url: dir.appendingPathComponent("model.safetensors"))) { error in
            XCTAssertTrue((error as! ModelLoadError).message.contains("not a folder"))
        }
    }

    func testBrokenModelIndex() throws {
        let dir = try ModelFolderFixtures.temporaryDirectory(self)
        let index = dir.appendingPathComponent("model_index.json")
        try ModelFolderFixtures.write(#"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers""#, to: index)
        XCTAssertThrowsError(try ModelFolder(url: dir)) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, index.path)
            XCTAssertTrue(e.message.contains("not valid JSON"), e.message)
        }
        try ModelFolderFixtures.write(#"["unet"]"#, to: index)
        XCTAssertThrowsError(try ModelFolder(url: dir)) { error in
            XCTAssertTrue((error as! ModelLoadError).message.contains("expected a JSON object, found an array"))
        }
        try ModelFolderFixtures.write(#"{"unet": ["diffusers", "UNet2DConditionModel"]}"#, to: index)
        XCTAssertThrowsError(try ModelFolder(url: dir)) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.key, "_class_name")
            XCTAssertTrue(e.message.contains("missing field"), e.message)
        }
    }

    func testMissingConfigAndWeights() throws {
        let dir = try ModelFolderFixtures.temporaryDirectory(self)
        try ModelFolderFixtures.write(#"{"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}"#,
                                      to: dir.appendingPathComponent("model_index.json"))
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("unet"), withIntermediateDirectories: true)
        let folder = try ModelFolder(url: dir)
        let unet = try folder.component("unet")
        XCTAssertThrowsError(try unet.config()) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, dir.appendingPathComponent("unet/config.json").path)
            XCTAssertTrue(e.message.contains("file not found"), e.message)
            XCTAssertTrue(e.message.contains("scheduler_config.json"), e.message)
        }
        XCTAssertThrowsError(try unet.weights()) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, dir.appendingPathComponent("unet").path)
            XCTAssertTrue(e.message.hasPrefix("no safetensors weights: looked for diffusion_pytorch_model.safetensors"), e.message)
        }
        XCTAssertThrowsError(try folder.component("vae")) { error in
            XCTAssertEqual((error as! ModelLoadError).file, dir.appendingPathComponent("vae").path)
        }
        // A diffusers .bin without a config: the hint still names the class from model_index.json.
        try ModelFolderFixtures.write("pickle", to: dir.appendingPathComponent("unet/diffusion_pytorch_model.bin"))
        XCTAssertThrowsError(try unet.weights()) { error in
            let e = error as! ModelLoadError
            XCTAssertTrue(e.file.hasSuffix("unet/diffusion_pytorch_model.bin"), e.file)
            XCTAssertTrue(e.hint?.contains("from diffusers import UNet2DConditionModel") == true, e.hint ?? "")
        }
    }

    func testCorruptWeightsBecomeModelLoadError() throws {
        let dir = try ModelFolderFixtures.temporaryDirectory(self)
        let component = dir.appendingPathComponent("vae")
        try ModelFolderFixtures.write(#"{"_class_name": "AutoencoderKL"}"#, to: component.appendingPathComponent("config.json"))
        let weights = component.appendingPathComponent("diffusion_pytorch_model.safetensors")
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = 200  // header length 200, but nothing follows
        try Data(bytes).write(to: weights)
        XCTAssertThrowsError(try ComponentFolder(url: component).weights()) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, weights.path)
            XCTAssertTrue(e.message.contains("truncated"), e.message)
            XCTAssertTrue(e.hint?.contains("re-download") == true)
        }
        XCTAssertThrowsError(try ComponentFolder(url: component.appendingPathComponent("config.json"))) { error in
            XCTAssertTrue((error as! ModelLoadError).message.contains("not a folder"))
        }
    }
}
