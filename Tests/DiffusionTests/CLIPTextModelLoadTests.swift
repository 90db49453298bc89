import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// Loading errors and key layouts of CLIPTextModel, on edited copies of the sd1-like fixture's text encoder.
final class CLIPTextModelLoadTests: XCTestCase {
    private var source: URL { ParityFixtures.folder("sd1-like").appendingPathComponent("text_encoder") }

    /// A copy of the text encoder folder with `edit` applied to its config and `editWeights` to its tensors
    /// (written as F32), plus optional raw I64 tensors.
    private func editedFolder(config edit: ((inout [String: Any]) -> Void)? = nil,
                              weights editWeights: ((inout [String: Tensor]) -> Void)? = nil,
                              int64 extra: [String: [Int64]] = [:]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-text-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
        edit?(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: dir.appendingPathComponent("config.json"))
        let file = try SafeTensorsFile(url: source.appendingPathComponent("model.safetensors"))
        var tensors: [String: Tensor] = [:]
        for name in file.names { tensors[name] = try file.tensor(name) }
        editWeights?(&tensors)
        let out = dir.appendingPathComponent("model.safetensors")
        if extra.isEmpty {
            try SafeTensorsWriter.write(tensors, to: out)
        } else {
            try Self.writeMixed(tensors, int64: extra, to: out)
        }
        return dir
    }

    /// A safetensors file with F32 tensors and I64 ones (which SafeTensorsWriter does not write).
    private static func writeMixed(_ tensors: [String: Tensor], int64: [String: [Int64]], to url: URL) throws {
        var entries: [String] = []
        var data = Data()
        for name in (Array(tensors.keys) + Array(int64.keys)).sorted() {
            let start = data.count
            let shape: [Int], dtype: String
            if let t = tensors[name] {
                for v in t.scalars { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                (shape, dtype) = (t.shape, "F32")
            } else {
                let v = int64[name]!
                for x in v { withUnsafeBytes(of: x.littleEndian) { data.append(contentsOf: $0) } }
                (shape, dtype) = ([1, v.count], "I64")
            }
            entries.append("\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(start),\(data.count)]}")
        }
        var header = Data("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(header)
        file.append(data)
        try file.write(to: url)
    }

    private func loadError(_ folder: URL, file: StaticString = #filePath, line: UInt = #line) -> ModelLoadError? {
        do {
            _ = try CLIPTextModel(folder: folder)
            XCTFail("loaded without error", file: file, line: line)
            return nil
        } catch let e as ModelLoadError {
            return e
        } catch {
            XCTFail("not a ModelLoadError: \(error)", file: file, line: line)
            return nil
        }
    }

    private var ids: [[Int]] { [[894, 320, 816, 531, 895, 895], [894, 895, 895, 895, 895, 895]] }

    // MARK: - Config errors

    func testUnsupportedActivationIsNamedWithSupportedList() throws {
        let folder = try editedFolder(config: { $0["hidden_act"] = "relu" })
        let e = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(e.key, "hidden_act")
        XCTAssertTrue(e.file.hasSuffix("config.json"), e.file)
        XCTAssertTrue(e.message.contains("\"relu\""), e.message)
        for name in ["quick_gelu", "gelu", "gelu_new"] {
            XCTAssertTrue(e.message.contains("\"\(name)\""), "lists \(name): \(e.message)")
        }
    }

    func testMissingAndInconsistentConfigFields() throws {
        let missing = try XCTUnwrap(loadError(try editedFolder(config: { $0.removeValue(forKey: "hidden_size") })))
        XCTAssertEqual(missing.key, "hidden_size")
        XCTAssertTrue(missing.message.contains("missing"), missing.message)
        let heads = try XCTUnwrap(loadError(try editedFolder(config: { $0["num_attention_heads"] = 5 })))
        XCTAssertEqual(heads.key, "num_attention_heads")
        XCTAssertTrue(heads.message.contains("not a multiple"), heads.message)
        let wrongType = try XCTUnwrap(loadError(try editedFolder(config: { $0["layer_norm_eps"] = "small" })))
        XCTAssertEqual(wrongType.key, "layer_norm_eps")
    }

    func testActivationNames() throws {
        XCTAssertEqual(CLIPTextConfig.activation(named: "quick_gelu"), .quickGELU)
        XCTAssertEqual(CLIPTextConfig.activation(named: "gelu"), .gelu)
        XCTAssertEqual(CLIPTextConfig.activation(named: "gelu_new"), .geluTanh)
        XCTAssertEqual(CLIPTextConfig.activation(named: "gelu_pytorch_tanh"), .geluTanh)
        XCTAssertNil(CLIPTextConfig.activation(named: "relu"))
        XCTAssertNil(CLIPTextConfig.activation(named: "gelu_fast"), "a different approximation: not supported")
    }

    /// Fields other than the sizes default as in transformers' CLIPTextConfig.
    func testConfigDefaults() throws {
        let config = try CLIPTextConfig(ComponentConfig(file: "config.json", values: [
            "hidden_size": .int(32), "intermediate_size": .int(64), "num_hidden_layers": .int(2),
            "num_attention_heads": .int(4),
        ]))
        XCTAssertEqual(config.vocabSize, 49408)
        XCTAssertEqual(config.maxPositionEmbeddings, 77)
        XCTAssertEqual(config.hiddenAct, .quickGELU)
        XCTAssertEqual(config.layerNormEps, 1e-5)
        XCTAssertEqual(config.padTokenID, 1)
        XCTAssertEqual(config.bosTokenID, 49406)
        XCTAssertEqual(config.eosTokenID, 49407)
        XCTAssertEqual(config.headDim, 8)
    }

    // MARK: - Weight errors

    func testMissingWeightNamesFullKeyAndFile() throws {
        let key = "text_model.encoder.layers.1.mlp.fc2.bias"
        let e = try XCTUnwrap(loadError(try editedFolder(weights: { $0.removeValue(forKey: key) })))
        XCTAssertEqual(e.key, key)
        XCTAssertTrue(e.file.hasSuffix("model.safetensors"), e.file)
        XCTAssertTrue(e.message.contains("missing"), e.message)
        XCTAssertTrue(e.description.contains(key) && e.description.contains("model.safetensors"), e.description)
    }

    func testMisShapedWeightSaysExpectedAndFound() throws {
        let key = "text_model.encoder.layers.0.self_attn.q_proj.weight"
        let e = try XCTUnwrap(loadError(try editedFolder(weights: { $0[key] = Tensor(zeros: [32, 31]) })))
        XCTAssertEqual(e.key, key)
        XCTAssertTrue(e.file.hasSuffix("model.safetensors"), e.file)
        XCTAssertTrue(e.message.contains("expected [32, 32], found [32, 31]"), e.message)
    }

    func testUnexpectedWeightIsListed() throws {
        let e = try XCTUnwrap(loadError(try editedFolder(weights: {
            $0["text_model.encoder.layers.2.layer_norm1.weight"] = Tensor(zeros: [32])
            $0["text_model.encoder.layers.2.layer_norm1.bias"] = Tensor(zeros: [32])
        })))
        XCTAssertTrue(e.message.contains("2 unexpected keys"), e.message)
        XCTAssertTrue(e.message.contains("text_model.encoder.layers.2.layer_norm1.weight"), e.message)
        XCTAssertTrue(e.message.contains("text_model.encoder.layers.2.layer_norm1.bias"), e.message)
        XCTAssertTrue(e.file.hasSuffix("model.safetensors"), e.file)
    }

    func testProjectionHeadIsRecognised() throws {
        let e = try XCTUnwrap(loadError(try editedFolder(weights: { $0["text_projection.weight"] = Tensor(zeros: [32, 32]) })))
        XCTAssertEqual(e.key, "text_projection.weight")
        XCTAssertTrue(e.message.contains("CLIPTextModelWithProjection"), e.message)
    }

    func testFewerLayersInConfigThanWeightsIsAnError() throws {
        let e = try XCTUnwrap(loadError(try editedFolder(config: { $0["num_hidden_layers"] = 1 })))
        XCTAssertTrue(e.message.contains("text_model.encoder.layers.1."), e.message)
    }

    // MARK: - Key layouts

    /// transformers 4 checkpoints hold `text_model.embeddings.position_ids` (I64): accepted and ignored.
    func testPositionIDsBufferIsIgnored() throws {
        let reference = try CLIPTextModel(folder: source)(ids)
        let folder = try editedFolder(int64: ["text_model.embeddings.position_ids": (0..<77).map(Int64.init)])
        XCTAssertEqual(try CLIPTextModel(folder: folder)(ids), reference)
    }

    /// transformers 5 `save_pretrained` writes the keys without `text_model.`: the same model.
    func testKeysWithoutTextModelPrefix() throws {
        let reference = try CLIPTextModel(folder: source)(ids)
        let folder = try editedFolder(weights: { tensors in
            tensors = Dictionary(uniqueKeysWithValues: tensors.map { (String($0.key.dropFirst("text_model.".count)), $0.value) })
        })
        XCTAssertEqual(try CLIPTextModel(folder: folder)(ids), reference)
        let e = try XCTUnwrap(loadError(try editedFolder(weights: { $0.removeValue(forKey: "text_model.final_layer_norm.weight") })))
        XCTAssertEqual(e.key, "text_model.final_layer_norm.weight")
    }

    // MARK: - Input errors

    func testInvalidInputs() throws {
        let model = try CLIPTextModel(folder: source)
        func message(_ ids: [[Int]]) -> String? {
            do { _ = try model(ids); return nil } catch let e as CLIPTextInputError { return e.message } catch { return "\(error)" }
        }
        XCTAssertTrue(message([[894, 1], [894]])?.contains("rows differ in length") == true)
        XCTAssertTrue(message([[894, 896]])?.contains("token id 896") == true)
        XCTAssertTrue(message([[-1]])?.contains("outside the vocabulary") == true)
        XCTAssertTrue(message([[Int]](repeating: [Int](repeating: 1, count: 78), count: 1))?.contains("max_position_embeddings (77)") == true)
        XCTAssertNotNil(message([]))
        XCTAssertNotNil(message([[]]))
        XCTAssertEqual(try model([[894, 895]]).shape, [1, 2, 32], "shorter than 77 tokens is fine")
    }

    /// Causality: a token's state does not depend on later tokens.
    func testCausalMask() throws {
        let model = try CLIPTextModel(folder: source)
        let a = try model([[894, 320, 816, 531, 895]]), b = try model([[894, 320, 816, 7, 8]])
        let prefixA = a.narrowed(dim: 1, start: 0, length: 3), prefixB = b.narrowed(dim: 1, start: 0, length: 3)
        XCTAssertLessThanOrEqual(ParityError(prefixA, prefixB).maxAbs, 1e-6)
        XCTAssertGreaterThan(ParityError(a, b).maxAbs, 1e-3)
    }

    /// transformers' pooling: configs with `eos_token_id == 2` (e.g. SD 1.5's text_encoder) take each row's
    /// largest id (first if repeated); others the first eos_token_id.
    func testPooledOutputPositions() throws {
        let weights = try WeightLoader(url: source.appendingPathComponent("model.safetensors"))
        var config = try CLIPTextConfig(url: source.appendingPathComponent("config.json"))
        let ids = [[5, 894, 895, 895], [894, 3, 7, 1]]
        func pooled(eos: Int?) throws -> (Tensor, Tensor) {
            config.eosTokenID = eos
            let out = try CLIPTextModel(config: config, weights: weights).forward(ids)
            return (out.pooledOutput, out.lastHiddenState)
        }
        func row(_ t: Tensor, _ b: Int, _ position: Int) -> [Float] {
            let (n, d) = (t.shape[1], t.shape[2])
            return Array(t.scalars[(b * n + position) * d..<(b * n + position + 1) * d])
        }
        var (p, h) = try pooled(eos: 2)
        XCTAssertEqual(p.shape, [2, 32])
        XCTAssertEqual(Array(p.scalars[0..<32]), row(h, 0, 2), "argmax: first 895")
        XCTAssertEqual(Array(p.scalars[32..<64]), row(h, 1, 0), "argmax: 894 at 0")
        (p, h) = try pooled(eos: 894)
        XCTAssertEqual(Array(p.scalars[0..<32]), row(h, 0, 1), "first eos")
        XCTAssertEqual(Array(p.scalars[32..<64]), row(h, 1, 0))
        (p, h) = try pooled(eos: 7)
        XCTAssertEqual(Array(p.scalars[0..<32]), row(h, 0, 0), "no eos in the row: position 0, as torch's argmax of zeros")
        XCTAssertEqual(Array(p.scalars[32..<64]), row(h, 1, 2))
    }

    /// hidden_states for CLIP skip: the last entry with final_layer_norm is last_hidden_state.
    func testHiddenStatesAndFinalLayerNorm() throws {
        let model = try CLIPTextModel(folder: source)
        let out = try model.forward(ids, outputHiddenStates: true)
        XCTAssertEqual(out.hiddenStates.count, 3)
        XCTAssertEqual(model.finalLayerNorm(out.hiddenStates[2]), out.lastHiddenState)
        XCTAssertTrue(try model.forward(ids).hiddenStates.isEmpty)
    }
}
