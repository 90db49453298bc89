import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// The whole img2img pipeline against diffusers' StableDiffusionImg2ImgPipeline with given noise
/// (`expected/img2img.safetensors`, cases named `dpm-s0.65-n10`, `ddim-s0.65-n10-eta0.3`, ...): timesteps exact,
/// latents within 1e-4 relative, taps within 1e-3, 8-bit images equal to 1 level on 99.9 % of the values.
final class Img2ImgParityTests: XCTestCase {
    struct Case {
        var name: String
        var scheduler: SchedulerType
        var strength: Double
        var steps: Int
        var eta: Double

        init(_ name: String) {
            self.name = name
            let parts = name.split(separator: "-")
            scheduler = parts[0] == "ddim" ? .ddim : .dpmSolverMultistep
            strength = Double(parts[1].dropFirst())!
            steps = Int(parts[2].dropFirst())!
            eta = parts.count > 3 ? Double(parts[3].dropFirst(3))! : 0
        }
    }

    func testImg2ImgMatchesDiffusers() throws {
        var worst: [String: Float] = [:]
        for config in ParityFixtures.configs {
            let folder = ParityFixtures.folder(config)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("expected/manifest.json"))) as! [String: Any]
            let spec = manifest["img2img"] as! [String: Any]
            let cases = (spec["cases"] as! [String: Any]).keys.sorted().map(Case.init)
            XCTAssertGreaterThanOrEqual(cases.count, 4)
            let pipeline = try StableDiffusionImg2ImgPipeline(folder: folder)
            let expected = try SafeTensorsFile(url: folder.appendingPathComponent("expected/img2img.safetensors"))
            let image = try expected.tensor("image")
            var shared: [String: Tensor] = [DiffusionNoise.posteriorKey: try expected.tensor("posterior_noise"),
                                            DiffusionNoise.latentKey: try expected.tensor("latent_noise")]
            func check(_ got: Tensor, _ key: String, _ tolerance: Float, _ kind: String) throws {
                let error = ParityError(got, try expected.tensor(key))
                worst[kind] = Swift.max(worst[kind] ?? 0, error.relative)
                XCTAssertLessThan(error.relative, tolerance, "\(config) \(key): \(error)")
            }
            for c in cases {
                var noise = shared
                for name in expected.names where name.hasPrefix("\(c.name).step_noise.") {
                    noise[String(name.dropFirst(c.name.count + 1))] = try expected.tensor(name)
                }
                let settings = Img2ImgSettings(prompt: spec["prompt"] as! String, negativePrompt: spec["negative_prompt"] as! String,
                                               strength: c.strength, steps: c.steps,
                                               guidanceScale: Float(spec["guidance_scale"] as! Double),
                                               scheduler: c.scheduler, eta: c.eta)
                if c.name == cases.first!.name {
                    try check(try pipeline.encodePrompt(settings), "prompt_embeds", 1e-4, "prompt_embeds")
                }
                let result = try pipeline(image: image, settings: settings, noise: DiffusionNoise(tensors: noise),
                                          recordSteps: true, taps: true)
                XCTAssertEqual(result.timesteps.map(Float.init), try expected.tensor("\(c.name).timesteps").scalars, "\(config) \(c.name)")
                try check(result.referenceLatent, "reference_latent", 1e-4, "reference_latent")
                try check(result.noised, "\(c.name).noised", 1e-4, "noised")
                for (i, latent) in result.stepLatents.enumerated() where expected.contains("\(c.name).step.\(i)") {
                    try check(latent, "\(c.name).step.\(i)", 1e-4, "step latents")
                }
                try check(result.finalLatent, "\(c.name).final_latent", 1e-4, "final_latent")
                try check(result.decoded, "\(c.name).decoded", 1e-4, "decoded")
                let taps = try XCTUnwrap(result.taps)
                XCTAssertEqual(taps.timestep, try expected.tensor("\(c.name).taps_timestep").scalars[0])
                for (name, tensor) in taps.namedTensors { try check(tensor, "\(c.name).taps.\(name)", 1e-3, "taps") }
                // 8-bit image: channel-major in the record, interleaved in rgbBytes.
                let u8 = try expected.tensor("\(c.name).image_u8")
                let plane = u8.shape[2] * u8.shape[3]
                let bytes = try result.rgbBytes()
                var off = 0, offByMore = 0
                for ch in 0..<3 {
                    for p in 0..<plane {
                        let d = abs(Int(bytes[p * 3 + ch]) - Int(u8.scalars[ch * plane + p]))
                        if d > 0 { off += 1 }
                        if d > 1 { offByMore += 1 }
                    }
                }
                XCTAssertEqual(offByMore, 0, "\(config) \(c.name): 8-bit values off by more than 1 level")
                XCTAssertLessThanOrEqual(Double(off), 0.001 * Double(3 * plane) + 1, "\(config) \(c.name): \(off) values off by 1")
            }
            shared.removeAll()
        }
        print("img2img parity, largest relative errors: " + worst.sorted { $0.key < $1.key }
            .map { "\($0.key) \(String(format: "%.2g", Double($0.value)))" }.joined(separator: ", "))
    }
}

final class Img2ImgOutputTests: XCTestCase {
    func testANonFiniteDecodedImageThrowsInsteadOfTrapping() {
        let decoded = Tensor(shape: [1, 3, 1, 2], scalars: [0, 1, .nan, -1, .infinity, 0.5])
        XCTAssertThrowsError(try Img2ImgResult.rgbBytes(decoded)) { error in
            XCTAssertTrue(error is NonFiniteOutputError && "\(error)".contains("2 of 6"), "\(error)")
        }
        XCTAssertEqual(try Img2ImgResult.rgbBytes(Tensor(shape: [1, 3, 1, 1], scalars: [-1, 0, 1])), [0, 128, 255])
    }
}
