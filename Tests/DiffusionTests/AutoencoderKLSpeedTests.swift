import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// Opt-in: a full-size VAE (SD 1.x architecture, random weights) made outside the repository, e.g. with
/// diffusers `AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, ...)` saved to
/// `<dir>/vae` and its outputs to `<dir>/expected.safetensors` (image, mean, logvar, z, decoded). Set
/// DATAENGINE_VAE_FULL=<dir> to check parity at that size and print encode/decode times.
final class AutoencoderKLSpeedTests: XCTestCase {
    func testFullSizeParityAndSpeed() throws {
        guard let dir = ProcessInfo.processInfo.environment["DATAENGINE_VAE_FULL"] else {
            throw XCTSkip("set DATAENGINE_VAE_FULL to a folder with vae/ and expected.safetensors")
        }
        let root = URL(fileURLWithPath: dir)
        var start = Date()
        let vae = try AutoencoderKL(folder: root.appendingPathComponent("vae"))
        let load = Date().timeIntervalSince(start)
        let ref = try SafeTensorsFile(url: root.appendingPathComponent("expected.safetensors"))
        let image = try ref.tensor("image"), z = try ref.tensor("z")
        _ = vae.encode(image)   // warm-up (thread pools, page faults)
        start = Date()
        let posterior = vae.encode(image)
        let encode = Date().timeIntervalSince(start)
        start = Date()
        var stages: [String] = []
        var last = start
        let decoded = vae.decode(z) { name, _ in
            let now = Date()
            stages.append(String(format: "%@ %.3fs", name, now.timeIntervalSince(last)))
            last = now
        }
        let decode = Date().timeIntervalSince(start)
        stages.append(String(format: "conv_norm_out + conv_out %.3fs", Date().timeIntervalSince(last)))
        let mean = ParityError(posterior.mean, try ref.tensor("mean"))
        let logvar = ParityError(posterior.logvar, try ref.tensor("logvar"))
        let dec = ParityError(decoded, try ref.tensor("decoded"))
        print(String(format: "AutoencoderKL full size, image %@: load %.2fs, encode %.3fs, decode %.3fs (latents %@)",
                     "\(image.shape)", load, encode, decode, "\(z.shape)"))
        print("  decoder stages: " + stages.joined(separator: ", "))
        print("  mean: \(mean)\n  logvar: \(logvar)\n  decoded: \(dec)")
        XCTAssertLessThanOrEqual(mean.relative, 1e-4)
        XCTAssertLessThanOrEqual(logvar.relative, 1e-4)
        XCTAssertLessThanOrEqual(dec.relative, 1e-4)
    }
}
