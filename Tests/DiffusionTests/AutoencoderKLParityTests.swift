import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// AutoencoderKL against diffusers' float32 outputs on the same (fp16-rounded) weights, inputs and noise.
final class AutoencoderKLParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// Parity numbers of every record checked, printed at the end of each config's test.
    private func check(_ name: String, _ got: Tensor, _ expected: Tensor, _ config: String, _ report: inout [String],
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, expected.shape, "\(config) \(name): shape", file: file, line: line)
        guard got.shape == expected.shape else { return }
        let e = ParityError(got, expected)
        report.append("\(name): \(e)")
        XCTAssertLessThanOrEqual(e.relative, Self.tolerance, "\(config) \(name): \(e)", file: file, line: line)
    }

    private func runParity(_ config: String) throws {
        let vae = try AutoencoderKL(modelFolder: ModelFolder(url: VAEParityFixtures.folder(config)))
        let ref = try VAEParityFixtures.expected(config)
        var report: [String] = []

        // Encode, with the intermediate records (batch element 0).
        var traced: [String: Tensor] = [:]
        let image = try ref.tensor("image")
        let moments = vae.moments(image) { traced[$0] = $1 }
        check("moments", moments, try ref.tensor("moments"), config, &report)
        for name in ["encoder.down_blocks.0", "encoder.mid_block", "encoder.out"] {
            let got = try XCTUnwrap(traced[name], "no trace \(name)")
            check("debug.\(name)", got.batchElement(0), try ref.tensor("debug.\(name)"), config, &report)
        }
        let posterior = DiagonalGaussianDistribution(moments: moments)
        XCTAssertEqual(vae.encode(image).mean, posterior.mean, "encode is quant_conv(encoder(x)) split")
        check("posterior_mean", posterior.mean, try ref.tensor("posterior_mean"), config, &report)
        check("posterior_logvar", posterior.logvar, try ref.tensor("posterior_logvar"), config, &report)
        check("posterior_std", posterior.std, try ref.tensor("posterior_std"), config, &report)
        let sample = posterior.sample(noise: try ref.tensor("noise"))
        check("sample", sample, try ref.tensor("sample"), config, &report)
        let latent = sample * vae.scalingFactor
        check("latent", latent, try ref.tensor("latent"), config, &report)

        // Decode the reference latent (so decoder errors are not mixed with the encoder's).
        traced = [:]
        let decoded = vae.decode(try ref.tensor("latent") / vae.scalingFactor) { traced[$0] = $1 }
        check("decoded", decoded, try ref.tensor("decoded"), config, &report)
        for name in ["decoder.post_quant_conv", "decoder.mid_block"] {
            let got = try XCTUnwrap(traced[name], "no trace \(name)")
            check("debug.\(name)", got.batchElement(0), try ref.tensor("debug.\(name)"), config, &report)
        }
        check("decoded2", vae.decode(try ref.tensor("latent2") / vae.scalingFactor), try ref.tensor("decoded2"), config, &report)

        if ref.contains("image_odd") {
            let odd = vae.encode(try ref.tensor("image_odd"))
            check("posterior_mean_odd", odd.mean, try ref.tensor("posterior_mean_odd"), config, &report)
            check("posterior_logvar_odd", odd.logvar, try ref.tensor("posterior_logvar_odd"), config, &report)
        }
        print("AutoencoderKL parity \(config):\n  " + report.joined(separator: "\n  "))
    }

    func testSD1Like() throws { try runParity("sd1-like") }
    func testSD2Like() throws { try runParity("sd2-like") }
    func testOdd() throws { try runParity("odd") }

    func testConfigFromFixture() throws {
        let vae = try AutoencoderKL(folder: VAEParityFixtures.folder("odd").appendingPathComponent("vae"))
        XCTAssertEqual(vae.config.blockOutChannels, [20, 28])
        XCTAssertEqual(vae.config.normNumGroups, 4)
        XCTAssertEqual(vae.scalingFactor, 0.13025)
        XCTAssertNil(vae.shiftFactor)
        XCTAssertEqual(vae.config.downscaleFactor, 2)
        XCTAssertEqual(vae.decoder.upBlocks.map(\.resnets.count), [2, 2], "layers_per_block + 1 resnets per up block")
    }
}
