import Foundation
import XCTest
import Tensors
@testable import Diffusion
import Support

/// AutoencoderTiny (TAESD) against diffusers 0.42.1 (Fixtures/taesd, tools/make_taesd_fixtures.py): seeded random
/// weights in TAESD's layout at factors 8 and 4; encode, decode (latents beyond the tanh clamp) and the round trip
/// within 1e-4 relative to the output's scale.
final class AutoencoderTinyParityTests: XCTestCase {
    static var directory: URL { SchedulerFixtures.directory.deletingLastPathComponent().appendingPathComponent("taesd") }

    func testEncodeAndDecodeMatchDiffusers() throws {
        let expected = try SafeTensorsFile(url: Self.directory.appendingPathComponent("expected.safetensors"))
        var worst: Float = 0
        for (name, factor) in [("factor8", 8), ("factor4", 4)] {
            let taesd = try AutoencoderTiny(folder: Self.directory.appendingPathComponent(name))
            XCTAssertEqual(taesd.config.downscaleFactor, factor)
            XCTAssertEqual(taesd.scalingFactor, 1)
            func check(_ got: Tensor, _ key: String) throws {
                let error = ParityError(got, try expected.tensor("\(name).\(key)"))
                XCTAssertLessThan(error.relative, 1e-4, "\(name).\(key): \(error)")
                worst = max(worst, error.relative)
            }
            let image = try expected.tensor("\(name).image")
            let latents = taesd.encode(image)
            XCTAssertEqual(latents.shape, [1, 4, 32 / factor, 32 / factor])
            try check(latents, "latents")
            try check(taesd.decode(try expected.tensor("\(name).given_latents")), "decoded")
            try check(taesd.decode(latents), "roundtrip")
        }
        print("AutoencoderTiny parity: worst relative error \(worst)")
    }

    func testBadConfigsAndWeightsAreRefusedByName() throws {
        let folder = Self.directory.appendingPathComponent("factor4")
        let config = try ComponentConfig(url: folder.appendingPathComponent("config.json"))
        for (key, value, named) in [("act_fn", JSONValue.string("silu"), "act_fn"),
                                    ("decoder_block_out_channels", .array([.int(8), .int(16), .int(8)]), "decoder_block_out_channels"),
                                    ("num_encoder_blocks", .array([.int(1), .int(2)]), "num_encoder_blocks"),
                                    ("_class_name", .string("AutoencoderKL"), "_class_name")] {
            var values = config.values
            values[key] = value
            XCTAssertThrowsError(try AutoencoderTinyConfig(ComponentConfig(file: "config.json", values: values))) {
                XCTAssertTrue("\($0)".contains(named), "\($0)")
            }
        }
        // A config with one more encoder block than the weights hold names the missing key.
        var values = config.values
        values["num_encoder_blocks"] = .array([.int(1), .int(2), .int(3)])
        let tiny = try AutoencoderTinyConfig(ComponentConfig(file: "config.json", values: values))
        let weights = try ComponentFolder(url: folder).weights(prefer: .full)
        XCTAssertThrowsError(try AutoencoderTiny(config: tiny, weights: weights)) { XCTAssertTrue("\($0)".contains("encoder.layers"), "\($0)") }
    }

    /// img2img with the pipeline's VAE replaced by the factor-4 TAESD (diffusers: `pipe.vae = AutoencoderTiny`) on the
    /// sd2-like parity model: the few-step setting (Euler trailing, 2 steps at 0.5, guidance 0) and DPM-Solver++ at
    /// 7.5; latents and the decoded image within 1e-4.
    func testImg2ImgWithTheTinyVAEMatchesDiffusers() throws {
        let expected = try SafeTensorsFile(url: Self.directory.appendingPathComponent("expected.safetensors"))
        let folder = ParityFixtures.folder("sd2-like")
        let given = try SafeTensorsFile(url: folder.appendingPathComponent("expected/img2img.safetensors"))
        let taesdFolder = Self.directory.appendingPathComponent("factor4")
        let plain = try StableDiffusionImg2ImgPipeline(folder: folder)
        let pipeline = try plain.attaching(tinyVAE: try AutoencoderTiny(folder: taesdFolder), file: taesdFolder.path)
        // Only the latent noise: TAESD's encoder is deterministic, no posterior sample is drawn.
        let noise = DiffusionNoise(tensors: [DiffusionNoise.latentKey: try given.tensor("latent_noise")])
        let cases: [(String, SchedulerType, Double, Int, Float, [String: JSONValue]?)] = [
            ("euler-trailing-s0.5-n2-g0", .eulerDiscrete, 0.5, 2, 0, ["timestep_spacing": .string("trailing")]),
            ("dpm-s0.65-n10-g7.5", .dpmSolverMultistep, 0.65, 10, 7.5, nil),
        ]
        var worst: Float = 0
        for (name, scheduler, strength, steps, guidance, overrides) in cases {
            var settings = Img2ImgSettings(prompt: "a photo of an astronaut riding a horse", strength: strength, steps: steps,
                                           guidanceScale: guidance, scheduler: scheduler, schedulerOverrides: overrides)
            settings.encodeVAE = .tiny
            settings.decodeVAE = .tiny
            let result = try pipeline(image: try given.tensor("image"), settings: settings, noise: noise, recordSteps: true)
            func check(_ got: Tensor, _ key: String) throws {
                let error = ParityError(got, try expected.tensor("img2img.\(name).\(key)"))
                XCTAssertLessThan(error.relative, 1e-4, "\(name).\(key): \(error)")
                worst = max(worst, error.relative)
            }
            try check(result.referenceLatent, "reference_latent")
            try check(result.noised, "noised")
            for (i, latent) in result.stepLatents.enumerated() { try check(latent, "step.\(i)") }
            try check(result.decoded, "decoded")
            // Without an attached TAESD the same settings are refused, not silently run with the KL VAE.
            XCTAssertThrowsError(try plain(image: try given.tensor("image"), settings: settings, noise: noise)) {
                XCTAssertTrue("\($0)".contains("tiny VAE"), "\($0)")
            }
        }
        print("img2img with TAESD parity: worst relative error \(worst)")
    }
}
