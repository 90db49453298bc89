import Foundation
import XCTest
import Tensors
@testable import Diffusion

final class CLIPTextModelParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    private func assertClose(_ actual: Tensor, _ expected: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, "\(what): shape", file: file, line: line)
        guard actual.shape == expected.shape else { return }
        let e = ParityError(actual, expected)
        print("parity \(what): \(e)")
        XCTAssertFalse(actual.scalars.contains { !$0.isFinite }, "\(what): non-finite output", file: file, line: line)
        XCTAssertLessThanOrEqual(e.relative, Self.tolerance, "\(what): \(e)", file: file, line: line)
    }

    private func model(_ config: String) throws -> CLIPTextModel {
        try CLIPTextModel(modelFolder: ModelFolder(url: ParityFixtures.folder(config)))
    }

    private func checkLastHiddenState(_ config: String) throws {
        let model = try model(config)
        let expected = try ParityFixtures.expectedText(config)
        let ids = try ParityFixtures.inputIDs(expected)
        let out = try model.forward(ids)
        assertClose(out.lastHiddenState, try expected.tensor("last_hidden_state"), "\(config) last_hidden_state")
        assertClose(out.pooledOutput, try expected.tensor("pooler_output"), "\(config) pooler_output")
        XCTAssertEqual(try model(ids), out.lastHiddenState, "callAsFunction is forward's last_hidden_state")
    }

    /// Row 0's recorded intermediates: `debug.embeddings`, `debug.layers.N.self_attn` (out_proj output before
    /// the residual), `debug.layers.N` (layer outputs).
    private func checkIntermediates(_ config: String) throws {
        let model = try model(config)
        let expected = try ParityFixtures.expectedText(config)
        let ids = [try ParityFixtures.inputIDs(expected)[0]]
        let out = try model.forward(ids, outputHiddenStates: true)
        XCTAssertEqual(out.hiddenStates.count, model.config.numHiddenLayers + 1)
        var checked = 0
        assertClose(out.hiddenStates[0], try expected.tensor("debug.embeddings"), "\(config) embeddings")
        checked += 1
        for (i, layer) in model.layers.enumerated() {
            if expected.contains("debug.layers.\(i).self_attn") {
                let attn = layer.selfAttention(layer.layerNorm1(out.hiddenStates[i]))
                assertClose(attn, try expected.tensor("debug.layers.\(i).self_attn"), "\(config) layers.\(i).self_attn")
                checked += 1
            }
            if expected.contains("debug.layers.\(i)") {
                assertClose(out.hiddenStates[i + 1], try expected.tensor("debug.layers.\(i)"), "\(config) layers.\(i)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 3, "the fixture records embeddings, a self_attn and a layer output")
        // The recorded intermediates are row 0 of the batch: the batch gives the same row.
        let batch = try model.forward(try ParityFixtures.inputIDs(expected))
        let row0 = batch.lastHiddenState.narrowed(dim: 0, start: 0, length: 1)
        // Not bit-identical: BLAS blocks a longer matrix differently.
        XCTAssertLessThanOrEqual(ParityError(row0, out.lastHiddenState).relative, 1e-5, "row 0 alone vs in the batch")
    }

    /// The config's tokenizer gives the recorded ids for the recorded strings. Strings that tokens.json marks
    /// `transformers4_differs` (transformers 5's Rust tokenizer vs transformers 4's slow tokenizer, which
    /// CLIPTokenizer follows) may differ; those that do are listed, not failed.
    private func checkTokenizer(_ config: String) throws {
        let url = ParityFixtures.folder(config).appendingPathComponent("expected/tokens.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let tokenizer = try CLIPTokenizer(folder: ParityFixtures.folder(config).appendingPathComponent("tokenizer"))
        let strings = root["strings"] as! [[String: Any]]
        XCTAssertGreaterThan(strings.count, 10)
        var knownDifferences: [String] = []
        for s in strings {
            let name = s["name"] as! String, text = s["text"] as! String
            let ids = (s["ids"] as! [NSNumber]).map(\.intValue)
            let (mine, truncated) = tokenizer(text, maxLength: ids.count)
            if let recorded = s["truncated"] as? Bool, s["transformers4_differs"] == nil {
                XCTAssertEqual(truncated, recorded, "\(config): truncation of `\(name)`")
            }
            if s["transformers4_differs"] != nil {
                if mine != ids { knownDifferences.append(name) }
                continue
            }
            XCTAssertEqual(mine, ids, "\(config): string `\(name)` (\(text.debugDescription))")
        }
        print("tokenizer \(config): \(strings.count) strings, differing only as transformers 4 does: \(knownDifferences)")
    }

    func testSD1LikeLastHiddenState() throws { try checkLastHiddenState("sd1-like") }
    func testSD2LikeLastHiddenState() throws { try checkLastHiddenState("sd2-like") }
    func testOddLastHiddenState() throws { try checkLastHiddenState("odd") }

    func testSD1LikeIntermediates() throws { try checkIntermediates("sd1-like") }
    func testSD2LikeIntermediates() throws { try checkIntermediates("sd2-like") }
    func testOddIntermediates() throws { try checkIntermediates("odd") }

    func testSD1LikeTokenizer() throws { try checkTokenizer("sd1-like") }
    func testSD2LikeTokenizer() throws { try checkTokenizer("sd2-like") }
    func testOddTokenizer() throws { try checkTokenizer("odd") }

    /// The configs are what the fixtures were made to cover: quick_gelu (SD1), gelu (SD2), odd sizes and eps.
    func testConfigsReadFromFixtures() throws {
        let sd1 = try model("sd1-like").config
        XCTAssertEqual(sd1.hiddenAct, .quickGELU)
        XCTAssertEqual(sd1.numHiddenLayers, 2)
        XCTAssertEqual(sd1.eosTokenID, 895)
        let sd2 = try model("sd2-like").config
        XCTAssertEqual(sd2.hiddenAct, .gelu)
        XCTAssertEqual(sd2.padTokenID, 0)
        let odd = try model("odd").config
        XCTAssertEqual(odd.hiddenSize, 40)
        XCTAssertEqual(odd.intermediateSize, 75)
        XCTAssertEqual(odd.layerNormEps, 1e-3)
        XCTAssertEqual(odd.numHiddenLayers, 3)
        XCTAssertEqual(odd.vocabSize, 847)
    }

    /// Prompts -> tokenizer -> text encoder for the recorded batch (its strings are named in the manifest).
    func testEncodePromptsMatchesRecordedBatch() throws {
        for config in ParityFixtures.configs {
            let folder = try ModelFolder(url: ParityFixtures.folder(config))
            let model = try CLIPTextModel(modelFolder: folder)
            let tokenizer = try CLIPTokenizer(folder: folder.url.appendingPathComponent("tokenizer"))
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("expected/manifest.json"))) as! [String: Any]
            let what = ((manifest["files"] as! [String: Any])["text.safetensors"] as! [String: Any])["input_ids"] as! [String: Any]
            let listed = (what["what"] as! String).split(separator: "[").last!.split(separator: "]").first!
            let names = listed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let tokens = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.url.appendingPathComponent("expected/tokens.json"))) as! [String: Any]
            let texts = Dictionary(uniqueKeysWithValues: (tokens["strings"] as! [[String: Any]]).map { ($0["name"] as! String, $0["text"] as! String) })
            let prompts = try names.map { try XCTUnwrap(texts[$0], "\(config): no string \($0) in tokens.json") }
            XCTAssertEqual(prompts.count, 4)
            let expected = try ParityFixtures.expectedText(config)
            assertClose(try model.encode(prompts, tokenizer: tokenizer), try expected.tensor("last_hidden_state"), "\(config) encode(prompts)")
        }
    }

    /// Optional, for full-size checks outside the committed fixtures: `DATAENGINE_CLIP_PARITY_DIRS` is a
    /// colon-separated list of folders, each with `text_encoder/` and `expected.safetensors` (input_ids as
    /// float, last_hidden_state, optional pooler_output) written with transformers.
    func testExternalParityFolders() throws {
        guard let list = ProcessInfo.processInfo.environment["DATAENGINE_CLIP_PARITY_DIRS"], !list.isEmpty else {
            throw XCTSkip("set DATAENGINE_CLIP_PARITY_DIRS to run")
        }
        for path in list.split(separator: ":").map(String.init) {
            let dir = URL(fileURLWithPath: path)
            var start = Date()
            let model = try CLIPTextModel(folder: dir.appendingPathComponent("text_encoder"))
            let loadSeconds = Date().timeIntervalSince(start)
            let expected = try SafeTensorsFile(url: dir.appendingPathComponent("expected.safetensors"))
            let ids = try ParityFixtures.inputIDs(expected)
            start = Date()
            let out = try model.forward(ids)
            print(String(format: "\(dir.lastPathComponent): load %.2f s, forward of %d x %d tokens %.3f s", loadSeconds, ids.count, ids[0].count,
                         Date().timeIntervalSince(start)))
            assertClose(out.lastHiddenState, try expected.tensor("last_hidden_state"), "\(dir.lastPathComponent) last_hidden_state")
            if expected.contains("pooler_output") {
                assertClose(out.pooledOutput, try expected.tensor("pooler_output"), "\(dir.lastPathComponent) pooler_output")
            }
        }
    }

    /// Thread count does not change the result.
    func testThreadCountIndependent() throws {
        let model = try model("odd")
        let ids = try ParityFixtures.inputIDs(try ParityFixtures.expectedText("odd"))
        let one = try TensorThreads.with(1) { try model(ids) }
        let four = try TensorThreads.with(4) { try model(ids) }
        XCTAssertEqual(one, four)
    }
}
