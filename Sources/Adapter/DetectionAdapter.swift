import Diffusion
import Foundation
import Tensors

/// The Detection-Adapter (docs/adapter.md): a neck and an FCOS head on the UNet's feature taps, and the
/// decoding to boxes in image pixels. Loads `adapter/config.json` + `adapter/model.safetensors`.
public struct DetectionAdapter: Sendable {
    public let config: AdapterConfig
    let neck: AdapterNeck
    let head: FCOSHead
    let decoder: FCOSDecoder

    /// `folder` is a model folder with `adapter/`, or the adapter folder itself.
    public init(folder: URL) throws {
        var directory = folder
        let nested = folder.appendingPathComponent("adapter")
        if FileManager.default.fileExists(atPath: nested.appendingPathComponent("config.json").path) { directory = nested }
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw ModelLoadError(file: configURL.path, message: "no adapter here",
                                 hint: "a model folder needs adapter/config.json and adapter/model.safetensors (train one with tools/train_adapter.py)")
        }
        let weightsURL = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw ModelLoadError(file: weightsURL.path, message: "the adapter's weights are missing",
                                 hint: "put the trained adapter's model.safetensors beside its config.json")
        }
        try self.init(config: AdapterConfig(ComponentConfig(url: configURL)), weights: WeightLoader(url: weightsURL))
    }

    public init(config: AdapterConfig, weights: WeightLoader) throws {
        self.config = config
        neck = try AdapterNeck(weights.scoped("neck"), config: config)
        head = try FCOSHead(weights.scoped("head"), config: config)
        decoder = FCOSDecoder(config: config)
        try weights.checkAllUsed()
    }

    /// The head's raw outputs on the five levels, for taps (N, C_s, h_s, w_s). An adapter with
    /// `vae_encoder_taps` needs `taps.vaeEncoderMidBlock` and appends it to the stride-1 group.
    public func forward(_ taps: UNetFeatureTaps) throws -> [FCOSLevelOutput] {
        var groups = try AdapterConfig.tapStrides.map { stride in
            guard let tensor = taps.byStride[stride] else {
                throw EngineInputError(input: "feature taps", message: "no stride-\(stride) group (have \(taps.strides))",
                                     hint: "the adapter needs a UNet with four resolution levels (strides 1, 2, 4, 8)")
            }
            return tensor
        }
        if config.readsVAEEncoder {
            guard let encoder = taps.vaeEncoderMidBlock else {
                throw EngineInputError(input: "feature taps", key: "vae_encoder_taps",
                                     message: "this adapter also reads the VAE encoder's mid block, and the taps lack it",
                                     hint: "take the taps with the encoder's output (detectionTaps(withEncoderMidBlock: true), or encoderMidBlock of the generated image)")
            }
            guard encoder.rank == 4, Array(encoder.shape[2...]) == Array(groups[0].shape[2...]) else {
                throw EngineInputError(input: "feature taps", key: "vae_encoder_taps",
                                     message: "the VAE encoder's mid block is \(encoder.shape), the stride-1 taps \(groups[0].shape)",
                                     hint: "take both from the same image")
            }
            groups[0] = Tensor.concat([groups[0], encoder], dim: 1)
        }
        return try forward(groups)
    }

    /// The same from the tap groups in ascending stride.
    public func forward(_ taps: [Tensor]) throws -> [FCOSLevelOutput] {
        guard taps.count == 4 else {
            throw EngineInputError(input: "feature taps", message: "expected 4 tap groups, got \(taps.count)", hint: "pass stride1, stride2, stride4, stride8")
        }
        for (i, (tensor, channels)) in zip(taps, config.tapChannels).enumerated() where tensor.rank != 4 || tensor.shape[1] != channels {
            throw EngineInputError(input: "feature taps", key: "stride\(AdapterConfig.tapStrides[i])",
                                 message: "shape \(tensor.shape), but the adapter was built for \(channels) channels",
                                 hint: "use the adapter trained for this model's UNet (its config's tap_channels)")
        }
        return head(neck(taps), strides: config.levelStrides)
    }

    /// Pre-NMS candidates (docs/adapter.md's order), for tests and diagnosis.
    public func candidates(_ outputs: [FCOSLevelOutput], index: Int = 0) -> [DetectionCandidate] {
        decoder.candidates(outputs, index: index)
    }

    /// Final detections of an image of `height` x `width` pixels, and the indices of the candidates kept.
    public func detect(_ outputs: [FCOSLevelOutput], height: Int, width: Int, index: Int = 0) -> (detections: [Detection], kept: [Int]) {
        decoder.detect(decoder.candidates(outputs, index: index), height: height, width: width)
    }

    /// Detections from taps, in one call.
    public func detect(_ taps: UNetFeatureTaps, height: Int, width: Int) throws -> [Detection] {
        detect(try forward(taps), height: height, width: width).detections
    }

    /// A warning when taps taken at `timestep` lie outside the range the adapter was trained at, else nil.
    public func timestepWarning(_ timestep: Float) -> String? {
        let range = config.timestepRange
        guard timestep < Float(range.lowerBound) || timestep > Float(range.upperBound) else { return nil }
        return "the labels come from UNet features at t = \(Int(timestep)), but the adapter was trained at t in "
            + "[\(range.lowerBound), \(range.upperBound)]: expect weaker boxes (use more steps, or train the adapter at this range)"
    }
}
