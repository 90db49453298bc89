import Foundation
import XCTest
import Support
@testable import Tensors

final class WeightLoaderTests: XCTestCase {
    /// A small diffusers-style checkpoint in a temporary file.
    private func unetLike() throws -> (WeightLoader, URL) {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        try SafeTensorsWriter.write([
            "conv_in.weight": Tensor(shape: [2, 1, 3, 3], scalars: (0..<18).map(Float.init)),
            "conv_in.bias": Tensor(shape: [2], scalars: [1, 2]),
            "down_blocks.0.resnets.0.conv1.weight": Tensor(shape: [2, 2, 1, 1], scalars: [1, 2, 3, 4]),
            "down_blocks.0.resnets.0.conv1.bias": Tensor(shape: [2], scalars: [5, 6]),
            "down_blocks.0.resnets.1.conv1.weight": Tensor(shape: [2, 2, 1, 1], scalars: [7, 8, 9, 10]),
            "down_blocks.1.attentions.0.proj_in.weight": Tensor(shape: [2, 2], scalars: [0, 1, 1, 0]),
            "down_blocks.10.norm.weight": Tensor(shape: [2], scalars: [1, 1]),
        ], to: url, dtype: .f16)
        return (try WeightLoader(url: url), url)
    }

    func testScopedKeysAndShapes() throws {
        let (weights, url) = try unetLike()
        XCTAssertEqual(weights.source, url.path)
        let conv = weights.scoped("down_blocks").scoped(0).scoped("resnets").scoped(1).scoped("conv1")
        XCTAssertEqual(conv.prefix, "down_blocks.0.resnets.1.conv1")
        XCTAssertEqual(conv.key("weight"), "down_blocks.0.resnets.1.conv1.weight")
        XCTAssertEqual(try conv.tensor("weight", shape: [2, 2, 1, 1]).scalars, [7, 8, 9, 10])
        XCTAssertEqual(try weights.scoped("down_blocks.0.resnets.0").tensor("conv1.bias").scalars, [5, 6], "dotted names work")
        XCTAssertEqual(try weights.tensor("conv_in.weight").shape, [2, 1, 3, 3])
        XCTAssertEqual(weights.scoped("").prefix, "")
        XCTAssertEqual(weights.info("conv_in.bias")?.dtype, .f16)
        XCTAssertEqual(weights.file(of: "conv_in.bias")?.path, url.path)
        XCTAssertNil(weights.file(of: "nope"))
    }

    func testContainsOptionalAndChildNames() throws {
        let (weights, _) = try unetLike()
        let resnet = weights.scoped("down_blocks").scoped(0).scoped("resnets").scoped(1).scoped("conv1")
        XCTAssertTrue(resnet.contains("weight"))
        XCTAssertFalse(resnet.contains("bias"))
        XCTAssertNil(try resnet.optionalTensor("bias"))
        XCTAssertNil(try resnet.optionalTensor("bias", shape: [2]))
        XCTAssertEqual(try weights.scoped("down_blocks.0.resnets.0.conv1").optionalTensor("bias", shape: [2])?.scalars, [5, 6])
        XCTAssertThrowsError(try weights.scoped("down_blocks.0.resnets.0.conv1").optionalTensor("bias", shape: [3]))
        XCTAssertEqual(weights.scoped("down_blocks").childNames, ["0", "1", "10"])
        XCTAssertEqual(weights.childNames, ["conv_in", "down_blocks"])
        XCTAssertEqual(weights.scoped("down_blocks").scoped(0).keys, [
            "down_blocks.0.resnets.0.conv1.bias", "down_blocks.0.resnets.0.conv1.weight", "down_blocks.0.resnets.1.conv1.weight",
        ], "down_blocks.0 must not include down_blocks.10")
    }

    func testShapeMismatchSaysExpectedFoundKeyAndFile() throws {
        let (weights, url) = try unetLike()
        XCTAssertThrowsError(try weights.scoped("conv_in").tensor("weight", shape: [2, 1, 5, 5])) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.key, "conv_in.weight")
            XCTAssertEqual(e.file, url.path)
            XCTAssertTrue(e.message.contains("expected [2, 1, 5, 5], found [2, 1, 3, 3]"), e.message)
        }
        XCTAssertTrue(weights.unusedKeys().contains("conv_in.weight"), "a failed load does not count as used")
    }

    func testMissingKeyNamesFullPathAndNearbyKeys() throws {
        let (weights, url) = try unetLike()
        XCTAssertThrowsError(try weights.scoped("down_blocks").scoped(0).scoped("resnets").scoped(1).scoped("conv1").tensor("bias", shape: [2])) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.key, "down_blocks.0.resnets.1.conv1.bias")
            XCTAssertEqual(e.file, url.path)
            XCTAssertTrue(e.message.contains("missing"), e.message)
            XCTAssertTrue(e.hint?.contains("under `down_blocks.0.resnets.1.conv1.`: weight") == true, e.hint ?? "")
        }
        XCTAssertThrowsError(try weights.scoped("up_blocks").tensor("x")) { error in
            XCTAssertTrue((error as! WeightError).hint?.contains("no key starting with `up_blocks.`") == true)
        }
    }

    func testUnusedKeysAndCheckAllUsed() throws {
        let (weights, url) = try unetLike()
        XCTAssertEqual(weights.unusedKeys().count, 7)
        _ = try weights.scoped("conv_in").tensor("weight")
        _ = try weights.scoped("conv_in").tensor("bias", shape: [2])
        weights.scoped("down_blocks.10.norm").markUsed("weight")
        weights.markUsed("not.a.key")  // ignored
        let down = weights.scoped("down_blocks").scoped(0)
        XCTAssertEqual(down.unusedKeys().count, 3)
        XCTAssertThrowsError(try weights.checkAllUsed()) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.file, url.path)
            XCTAssertTrue(e.message.hasPrefix("4 unexpected keys"), e.message)
            XCTAssertTrue(e.message.contains("down_blocks.1.attentions.0.proj_in.weight"), e.message)
            XCTAssertFalse(e.message.contains("conv_in"), e.message)
        }
        for k in down.keys { weights.markUsed(k) }
        XCTAssertNoThrow(try down.checkAllUsed())
        XCTAssertEqual(weights.unusedKeys(), ["down_blocks.1.attentions.0.proj_in.weight"])
        XCTAssertThrowsError(try weights.checkAllUsed()) { error in
            XCTAssertTrue((error as! WeightError).message.hasPrefix("1 unexpected key not used"))
        }
        _ = try weights.tensor("down_blocks.1.attentions.0.proj_in.weight", shape: [2, 2])
        XCTAssertNoThrow(try weights.checkAllUsed())
        XCTAssertEqual(weights.unusedKeys(), [])
    }

    func testUnexpectedKeysListIsCappedAt20() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("many.safetensors")
        var tensors: [String: Tensor] = [:]
        for i in 0..<25 { tensors[String(format: "extra.k%02d", i)] = Tensor(zeros: [1]) }
        try SafeTensorsWriter.write(tensors, to: url)
        let weights = try WeightLoader(url: url)
        XCTAssertThrowsError(try weights.checkAllUsed()) { error in
            let message = (error as! WeightError).message
            XCTAssertTrue(message.hasPrefix("25 unexpected keys"), message)
            XCTAssertTrue(message.contains("extra.k19"), message)
            XCTAssertFalse(message.contains("extra.k20"), message)
            XCTAssertTrue(message.hasSuffix("... and 5 more"), message)
        }
    }

    func testThreadSafeUseTracking() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("par.safetensors")
        var tensors: [String: Tensor] = [:]
        for i in 0..<200 { tensors["layers.\(i).weight"] = Tensor(repeating: Float(i), shape: [4]) }
        try SafeTensorsWriter.write(tensors, to: url)
        let weights = try WeightLoader(url: url)
        let layers = weights.scoped("layers")
        let ok = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 200)
        defer { ok.deallocate() }
        let slots = DisjointSlots(ok)
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            slots[i] = (try? layers.scoped(i).tensor("weight", shape: [4]).scalars) == [Float](repeating: Float(i), count: 4)
        }
        XCTAssertTrue(ok.allSatisfy { $0 })
        XCTAssertEqual(weights.unusedKeys(), [])
        XCTAssertNoThrow(try weights.checkAllUsed())
    }

    // MARK: - Shards

    func testShardedCheckpoint() throws {
        let index = SafeTensorsFixtures.url("sharded/model.safetensors.index.json")
        let weights = try WeightLoader(url: index)
        XCTAssertEqual(weights.source, index.path)
        XCTAssertEqual(weights.files.count, 2)
        XCTAssertEqual(weights.keys.count, 5)
        let layer1 = weights.scoped("encoder").scoped("layers").scoped(1)
        XCTAssertEqual(try layer1.tensor("weight", shape: [2, 2]).scalars, [5, 6, 7, 8])
        XCTAssertTrue(weights.file(of: "encoder.layers.1.weight")!.path.hasSuffix("model-00002-of-00002.safetensors"))
        XCTAssertTrue(weights.file(of: "encoder.layers.0.bias")!.path.hasSuffix("model-00001-of-00002.safetensors"))
        XCTAssertEqual(try weights.tensor("encoder.layers.0.bias").scalars, [0.5, -0.5])
        XCTAssertThrowsError(try weights.checkAllUsed()) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.file, index.path)
            XCTAssertTrue(e.message.contains("head.weight (in model-00002-of-00002.safetensors)"), e.message)
            XCTAssertTrue(e.message.contains("encoder.layers.0.weight (in model-00001-of-00002.safetensors)"), e.message)
        }
        let parsed = try WeightShardIndex(url: index)
        XCTAssertEqual(parsed.shardFileNames, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertEqual(parsed.totalSize, 4 * (4 + 2 + 4 + 2 + 2))
    }

    /// Copies the sharded fixture into a temp dir with a replaced index.
    private func shardedCopy(index: String) throws -> URL {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        for name in ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"] {
            try FileManager.default.copyItem(at: SafeTensorsFixtures.url("sharded/\(name)"), to: dir.appendingPathComponent(name))
        }
        let url = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(index.utf8).write(to: url)
        return url
    }

    func testShardIndexErrors() throws {
        let missingShard = try shardedCopy(index: #"{"weight_map": {"head.weight": "model-00003-of-00003.safetensors"}}"#)
        XCTAssertThrowsError(try WeightLoader(url: missingShard)) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.file, missingShard.path)
            XCTAssertTrue(e.message.contains("model-00003-of-00003.safetensors"), e.message)
            XCTAssertTrue(e.message.contains("missing"), e.message)
        }
        let wrongShard = try shardedCopy(index: #"{"weight_map": {"head.weight": "model-00001-of-00002.safetensors"}}"#)
        XCTAssertThrowsError(try WeightLoader(url: wrongShard)) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.key, "head.weight")
            XCTAssertTrue(e.message.contains("does not contain it"), e.message)
        }
        let traversal = try shardedCopy(index: #"{"weight_map": {"head.weight": "../model-00002-of-00002.safetensors"}}"#)
        XCTAssertThrowsError(try WeightLoader(url: traversal)) { error in
            XCTAssertTrue((error as! WeightError).message.contains("not a plain file name"))
        }
        let noMap = try shardedCopy(index: #"{"metadata": {}}"#)
        XCTAssertThrowsError(try WeightLoader(url: noMap)) { error in
            XCTAssertTrue((error as! WeightError).message.contains("weight_map"))
        }
        let notJSON = try shardedCopy(index: "{weight_map")
        XCTAssertThrowsError(try WeightLoader(url: notJSON)) { error in
            XCTAssertTrue((error as! WeightError).message.contains("not valid JSON"))
        }
        let valid = try shardedCopy(index: #"{"weight_map": {"head.weight": "model-00002-of-00002.safetensors", "encoder.layers.0.bias": "model-00001-of-00002.safetensors"}}"#)
        XCTAssertEqual(try WeightLoader(url: valid).keys.count, 5, "keys of the shards beyond the map are still visible")
    }

    func testDuplicateKeyAcrossFiles() throws {
        let a = try SafeTensorsFile(url: SafeTensorsFixtures.url("reference_f32.safetensors"))
        let b = try SafeTensorsFile(url: SafeTensorsFixtures.url("reference_f32.safetensors"))
        XCTAssertThrowsError(try WeightLoader(files: [a, b], source: "pair")) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.file, "pair")
            XCTAssertEqual(e.key, "conv.bias")
            XCTAssertTrue(e.message.contains("two files"), e.message)
        }
        let single = WeightLoader(file: a)
        XCTAssertEqual(single.keys, ["conv.bias", "conv.weight", "norm.weight"])
    }
}

final class WeightLoaderNonFiniteTests: XCTestCase {
    func testNaNAndInfinityAreRefusedNamingTheTensor() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nonfinite-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensorsWriter.write(["ok": Tensor(shape: [2], scalars: [1, 2]), "bad.weight": Tensor(shape: [3], scalars: [1, .nan, .infinity])], to: url)
        let weights = try WeightLoader(url: url)
        XCTAssertEqual(try weights.tensor("ok").scalars, [1, 2])
        XCTAssertThrowsError(try weights.tensor("bad.weight", shape: [3])) { error in
            XCTAssertEqual((error as? WeightError)?.key, "bad.weight", "\(error)")
            XCTAssertTrue("\(error)".contains("2 non-finite values") && "\(error)".contains("element 1"), "\(error)")
        }
    }
}
