import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// DeepCache (issue 17 item 4): a shallow call that reuses the deep feature of a full call on the same input gives
/// that call's output exactly (so the shallow path computes what the full one does above the cached feature); in
/// img2img, an interval changes the image but never the last step, whose taps stay those of a full call.
final class DeepCacheTests: XCTestCase {
    func testAShallowCallOnTheSameInputGivesTheFullCallsOutput() throws {
        let pipeline = try StableDiffusionImg2ImgPipeline(folder: ParityFixtures.folder("sd2-like"))
        let unet = pipeline.unet
        XCTAssertTrue(unet.supportsDeepCache)
        let sample = Tensor(shape: [2, 4, 8, 8], scalars: (0..<512).map { Float(($0 * 37) % 19) / 9 - 1 })
        let context = try pipeline.encodePrompt(Img2ImgSettings(prompt: "a red circle", guidanceScale: 7.5))
        let plain = unet.forward(sample, timesteps: [500], encoderHiddenStates: context)
        let kept = unet.forward(sample, timesteps: [500], encoderHiddenStates: context, deepCache: .keep)
        XCTAssertEqual(kept.output.scalars, plain.output.scalars, "keeping the deep feature changes nothing")
        let deep = try XCTUnwrap(kept.deep)
        let shallow = unet.forward(sample, timesteps: [500], encoderHiddenStates: context, deepCache: .reuse(deep))
        XCTAssertNil(shallow.taps)
        XCTAssertEqual(shallow.output.scalars, plain.output.scalars, "same input, same deep feature: the full call's output")
        let later = unet.forward(sample, timesteps: [300], encoderHiddenStates: context, deepCache: .reuse(deep))
        XCTAssertNotEqual(later.output.scalars, plain.output.scalars, "another timestep changes the shallow blocks")
    }

    func testAnIntervalChangesTheImageButNotWhereTheLastStepsTapsComeFrom() throws {
        let pipeline = try StableDiffusionImg2ImgPipeline(folder: ParityFixtures.folder("sd2-like"))
        let image = Tensor(shape: [1, 3, 32, 32], scalars: (0..<3072).map { Float(($0 * 13) % 29) / 14 - 1 })
        var settings = Img2ImgSettings(prompt: "a red circle", strength: 1.0, steps: 6, guidanceScale: 7.5)
        let off = try pipeline(image: image, settings: settings, noise: DiffusionNoise(seed: 3), taps: true)
        settings.deepCacheInterval = 3
        let cached = try pipeline(image: image, settings: settings, noise: DiffusionNoise(seed: 3), taps: true)
        XCTAssertEqual(cached.timesteps, off.timesteps)
        XCTAssertNotEqual(cached.finalLatent.scalars, off.finalLatent.scalars, "steps 1, 2 and 4 reuse the deep feature")
        XCTAssertEqual(cached.taps?.timestep, off.taps?.timestep)
        // The last step is a full call: its taps are those of a plain call on the cached run's last input.
        let recorded = try pipeline(image: image, settings: settings, noise: DiffusionNoise(seed: 3), recordSteps: true, taps: true)
        XCTAssertEqual(recorded.finalLatent.scalars, cached.finalLatent.scalars, "deterministic")
        let before = recorded.stepLatents[recorded.stepLatents.count - 2]
        let expected = pipeline.unet.forward(Tensor.concat([before, before], dim: 0), timesteps: [Float(recorded.timesteps.last!)],
                                             encoderHiddenStates: try pipeline.encodePrompt(settings), tapBatchIndex: 1).taps!
        let got = try XCTUnwrap(recorded.taps)
        for ((name, a), (_, b)) in zip(got.namedTensors, expected.namedTensors) { XCTAssertEqual(a.scalars, b.scalars, name) }
        settings.deepCacheInterval = 100
        let onlyFirst = try pipeline(image: image, settings: settings, noise: DiffusionNoise(seed: 3))
        XCTAssertNotEqual(onlyFirst.finalLatent.scalars, off.finalLatent.scalars, "one full call, then shallow ones until the last")
    }
}
