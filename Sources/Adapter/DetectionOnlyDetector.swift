import Diffusion
import Foundation
import Tensors

/// Detection-only mode (docs/taps.md, docs/adapter.md): encode a real image with the VAE (posterior mean), noise
/// the latent to the adapter's timestep, one UNet call with the empty prompt, the adapter on its taps. No
/// sampling loop. `dataengine detect` and the attributes stage use it.
public struct DetectionOnlyDetector: Sendable {
    public let pipeline: StableDiffusionImg2ImgPipeline
    public let adapter: DetectionAdapter
    /// The UNet timestep of the call: the lower end of the adapter's training range unless set.
    public let timestep: Int

    /// Loads the model folder (diffusers layout) and its `adapter/`.
    public init(modelFolder: URL, timestep: Int? = nil) throws {
        let adapter = try DetectionAdapter(folder: modelFolder.appendingPathComponent("adapter"))
        try self.init(pipeline: StableDiffusionImg2ImgPipeline(folder: modelFolder), adapter: adapter, timestep: timestep)
    }

    public init(pipeline: StableDiffusionImg2ImgPipeline, adapter: DetectionAdapter, timestep: Int? = nil) throws {
        self.pipeline = pipeline
        self.adapter = adapter
        self.timestep = timestep ?? adapter.config.timestepRange.lowerBound
        if pipeline.vaeScaleFactor != adapter.config.vaeScaleFactor {
            throw ModelLoadError(file: "adapter/config.json", key: "vae_scale_factor",
                                 message: "\(adapter.config.vaeScaleFactor), but the model's VAE downsamples \(pipeline.vaeScaleFactor)x",
                                 hint: "use the adapter trained for this model")
        }
    }

    /// The settings of the UNet call: empty prompt, no guidance, the posterior mean.
    public static let settings = Img2ImgSettings(prompt: "", guidanceScale: 1, scheduler: .ddim, useLatentMean: true)

    /// Detections for an image tensor (1, 3, H, W) in [-1, 1] (sides multiples of the VAE factor), in that
    /// tensor's pixels. `noise` supplies `latent_noise` (seed it from the image's identity).
    public func detect(image: Tensor, noise: DiffusionNoise) throws -> [Detection] {
        let taps = try pipeline.detectionTaps(image: image, timestep: timestep, settings: Self.settings, noise: noise,
                                              withEncoderMidBlock: adapter.config.readsVAEEncoder)
        return try adapter.detect(taps, height: image.shape[2], width: image.shape[3])
    }

    /// A per-image noise seed from a run seed and the image's id (splitmix64 finaliser), so results do not depend
    /// on which other images a run detects or in which order.
    public static func noiseSeed(runSeed: UInt64, imageId: Int) -> UInt64 {
        var z = runSeed &+ 0x9E37_79B9_7F4A_7C15 &* (UInt64(bitPattern: Int64(imageId)) &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
