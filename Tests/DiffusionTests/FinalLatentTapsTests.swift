import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// The `final-latent` label mode's taps: the final latent noised with `relabel_noise` to a training timestep by
/// DDPM's forward process (alphas_cumprod[t]), then one UNet call with the run's prompt, guidance deciding the batch.
final class FinalLatentTapsTests: XCTestCase {
    func testTapsOfTheFinalLatentNoisedToTheTimestep() throws {
        let pipeline = try StableDiffusionImg2ImgPipeline(folder: ParityFixtures.folder("sd2-like"))
        let latent = Tensor(shape: [1, 4, 8, 8], scalars: (0..<256).map { Float(($0 * 37) % 19) / 9 - 1 })
        let noise = Tensor(shape: [1, 4, 8, 8], scalars: (0..<256).map { Float(($0 * 11) % 23) / 11 - 1 })
        for guidance: Float in [0, 7.5] {
            let settings = Img2ImgSettings(prompt: "a red circle", strength: 0.5, steps: 2, guidanceScale: guidance, scheduler: .eulerDiscrete)
            let taps = try pipeline.finalLatentTaps(latent, timestep: 20, settings: settings,
                                                    noise: DiffusionNoise(tensors: [DiffusionNoise.relabelKey: noise]))
            XCTAssertEqual(taps.timestep, 20)
            let ddim = DDIMScheduler(config: try SchedulerConfig(pipeline.schedulerFile, for: .ddim))
            var input = ddim.addNoise(original: latent, noise: noise, timestep: 20)
            let cfg = guidance > 1
            if cfg { input = Tensor.concat([input, input], dim: 0) }
            let expected = pipeline.unet.forward(input, timesteps: [20], encoderHiddenStates: try pipeline.encodePrompt(settings),
                                                 tapBatchIndex: cfg ? 1 : 0).taps!
            XCTAssertEqual(taps.namedTensors.map(\.0), expected.namedTensors.map(\.0))
            for ((name, got), (_, want)) in zip(taps.namedTensors, expected.namedTensors) {
                XCTAssertEqual(got.scalars, want.scalars, "\(name), guidance \(guidance)")
            }
        }
        XCTAssertThrowsError(try pipeline.finalLatentTaps(latent, timestep: 1000, settings: Img2ImgSettings(prompt: "x"),
                                                          noise: DiffusionNoise(seed: 1))) {
            XCTAssertTrue("\($0)".contains("label timestep 1000"), "\($0)")
        }
    }
}
