import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// LoRA fusion against diffusers 0.42.1's `load_lora_weights` + `fuse_lora(lora_scale=0.8)` (Fixtures/lora,
/// tools/make_lora_fixtures.py): for a kohya-layout file (alpha 4, rank 2) and a diffusers-layout one (no alpha),
/// every weight diffusers changed in the sd2-like parity model's UNet (82: attention projections, a 3x3 convolution,
/// a proj_in) and text encoder (5) is within 1e-6 of diffusers' fused weight; nothing else changes.
final class LoRAParityTests: XCTestCase {
    static var directory: URL { SchedulerFixtures.directory.deletingLastPathComponent().appendingPathComponent("lora") }

    func testFusedWeightsMatchDiffusers() throws {
        let expected = try SafeTensorsFile(url: Self.directory.appendingPathComponent("expected.safetensors"))
        let model = try ModelFolder(url: ParityFixtures.folder("sd2-like"))
        var worst: Float = 0, compared = 0
        for layout in ["kohya", "diffusers"] {
            let lora = try LoRAWeights(url: Self.directory.appendingPathComponent("\(layout).safetensors"))
            XCTAssertEqual(lora.kohya, layout == "kohya")
            for component in ["unet", "text_encoder"] {
                let plain = try model.component(component).weights(prefer: .full)
                let deltas = try lora.deltas(component, scale: 0.8, for: plain)
                let fused = try plain.adding(deltas, from: lora.file)
                let keys = expected.names.filter { $0.hasPrefix("\(layout).\(component).") }
                XCTAssertEqual(Set(deltas.keys), Set(keys.map { String($0.dropFirst("\(layout).\(component).".count)) }), "\(layout) \(component)")
                for key in keys {
                    let name = String(key.dropFirst("\(layout).\(component).".count))
                    let error = ParityError(try fused.tensor(name), try expected.tensor(key))
                    XCTAssertLessThan(error.relative, 1e-6, "\(key): \(error)")
                    XCTAssertGreaterThan(ParityError(try plain.tensor(name), try expected.tensor(key)).relative, 1e-3, "\(key) changed")
                    worst = max(worst, error.relative)
                    compared += 1
                }
                let untouched = plain.keys.first { !deltas.keys.contains($0) }!
                XCTAssertEqual(try fused.tensor(untouched).scalars, try plain.tensor(untouched).scalars)
            }
        }
        XCTAssertEqual(compared, 174)
        print("LoRA fusion parity: \(compared) weights, worst relative error \(worst)")
    }

    func testAPipelineWithALoRALoadsAndDiffers() throws {
        let folder = ParityFixtures.folder("sd2-like")
        let lora = try LoRAWeights(url: Self.directory.appendingPathComponent("kohya.safetensors"))
        let plain = try StableDiffusionImg2ImgPipeline(folder: folder)
        let fused = try StableDiffusionImg2ImgPipeline(folder: folder, loras: [(lora, 0.8)])
        let settings = Img2ImgSettings(prompt: "a red circle", guidanceScale: 0)
        XCTAssertNotEqual(try fused.encodePrompt(settings).scalars, try plain.encodePrompt(settings).scalars, "the text encoder is adapted")
        let none = try StableDiffusionImg2ImgPipeline(folder: folder, loras: [(lora, 0)])
        XCTAssertEqual(try none.encodePrompt(settings).scalars, try plain.encodePrompt(settings).scalars, "scale 0 changes nothing")
    }

    func testKeysThatMatchNothingAreRefusedByName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ tensors: [String: Tensor]) throws -> URL {
            let url = dir.appendingPathComponent("\(tensors.keys.sorted().first!).safetensors")
            try SafeTensorsWriter.write(tensors, to: url)
            return url
        }
        let down = Tensor(repeating: 0.1, shape: [2, 8]), up = Tensor(repeating: 0.1, shape: [8, 2])
        let plain = try ModelFolder(url: ParityFixtures.folder("sd2-like")).component("unet").weights(prefer: .full)
        let missing = try LoRAWeights(url: try write(["lora_unet_down_blocks_9_attn_to_q.lora_down.weight": down,
                                                      "lora_unet_down_blocks_9_attn_to_q.lora_up.weight": up]))
        XCTAssertThrowsError(try missing.deltas("unet", scale: 1, for: plain)) { XCTAssertTrue("\($0)".contains("down_blocks_9_attn_to_q"), "\($0)") }
        XCTAssertThrowsError(try LoRAWeights(url: try write(["unet.a.lora_A.weight": down]))) { XCTAssertTrue("\($0)".contains("no up"), "\($0)") }
        XCTAssertThrowsError(try LoRAWeights(url: try write(["unet.a.hada_w1_a": down]))) { XCTAssertTrue("\($0)".contains("hada_w1_a"), "\($0)") }
        XCTAssertThrowsError(try LoRAWeights(url: try write(["lora_te2_x.lora_down.weight": down, "lora_te2_x.lora_up.weight": up]))) {
            XCTAssertTrue("\($0)".contains("second text encoder"), "\($0)")
        }
    }
}
