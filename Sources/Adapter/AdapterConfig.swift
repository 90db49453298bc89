import Diffusion
import Foundation

/// `adapter/config.json` (docs/adapter.md): the network's sizes, the classes with their dataset category ids,
/// the timesteps it was trained at and the decoding settings.
public struct AdapterConfig: Sendable, Equatable {
    public struct DatasetClass: Sendable, Equatable {
        public var categoryId: Int
        public var name: String
    }

    public enum HeadType: String, Sendable, CaseIterable { case fcos }

    /// The tap groups the adapter reads, relative to the latent (docs/taps.md).
    public static let tapStrides = [1, 2, 4, 8]

    public var headType: HeadType
    public var channels: Int
    public var towerConvs: Int
    public var normNumGroups: Int
    /// Channels of `stride1`, `stride2`, `stride4`, `stride8` (stride1 including the VAE encoder's taps).
    public var tapChannels: [Int]
    /// VAE encoder blocks whose outputs are appended to the stride-1 group, after the UNet's taps: [] or
    /// ["mid_block"] (docs/adapter.md).
    public var vaeEncoderTaps: [String]
    public static let supportedVAEEncoderTaps = ["mid_block"]

    /// Whether the adapter also reads the VAE encoder of the image it labels.
    public var readsVAEEncoder: Bool { !vaeEncoderTaps.isEmpty }
    public var vaeScaleFactor: Int
    public var classes: [DatasetClass]
    /// The UNet timesteps the adapter was trained at (inclusive).
    public var timestepRange: ClosedRange<Int>
    public var scoreThreshold: Float
    public var preNMSTopK: Int
    public var nmsIoU: Float
    /// Whether overlapping boxes of different classes are reduced to one (`agnostic`) or kept (`classwise`).
    public var nms: NMSMode
    public enum NMSMode: String, Sendable, CaseIterable { case classwise, agnostic }
    public var maxDetections: Int
    /// The label threshold measured for this adapter on generated images (`tools/calibrate_adapter.py`), nil when
    /// it was never calibrated. `score_threshold` stays the decoder's low cut.
    public var calibration: Calibration?

    public struct Calibration: Sendable, Equatable {
        /// The best-F1 score threshold for labels on generated images.
        public var threshold: Double
        /// Precision and recall of the labels at that threshold (IoU >= 0.5, same class) against the reference boxes.
        public var precision: Double
        public var recall: Double
        /// How the calibrated labels were read: "taps" (the last denoising step's feature taps).
        public var labelMode: String
    }

    /// Image strides of the five levels: the VAE factor times 1, 2, 4, 8, 16.
    public var levelStrides: [Int] { [1, 2, 4, 8, 16].map { $0 * vaeScaleFactor } }

    public init(_ config: ComponentConfig) throws {
        let file = config.file
        func fail(_ key: String, _ message: String, _ hint: String) -> ModelLoadError {
            ModelLoadError(file: file, key: key, message: message, hint: hint)
        }
        let head = try config.string("head_type", default: "fcos")
        guard let type = HeadType(rawValue: head) else {
            throw fail("head_type", "unsupported head type \"\(head)\"", "supported: \(HeadType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        headType = type
        channels = try config.int("channels")
        towerConvs = try config.int("tower_convs", default: 2)
        normNumGroups = try config.int("norm_num_groups", default: 32)
        guard channels > 0, normNumGroups > 0, channels % normNumGroups == 0 else {
            throw fail("channels", "channels \(channels) is not a positive multiple of norm_num_groups \(normNumGroups)",
                       "GroupNorm needs channels divisible by its groups (e.g. 64 or 256 with 32 groups)")
        }
        guard let taps = config["tap_channels"]?.objectValue else {
            throw fail("tap_channels", "missing or not an object", "give the channels of each tap group, e.g. {\"1\": 960, \"2\": 1600, \"4\": 1920, \"8\": 3840}")
        }
        tapChannels = try Self.tapStrides.map { stride in
            guard let c = taps[String(stride)]?.intValue, c > 0 else {
                throw fail("tap_channels", "no positive channel count for stride \(stride)",
                           "python tools/taps.py --unet-config UNET/config.json prints them")
            }
            return c
        }
        vaeEncoderTaps = try config.strings("vae_encoder_taps", default: [])
        for name in vaeEncoderTaps where !Self.supportedVAEEncoderTaps.contains(name) {
            throw fail("vae_encoder_taps", "unsupported VAE encoder tap \"\(name)\"",
                       "supported: \(Self.supportedVAEEncoderTaps.joined(separator: ", ")) (or leave the key out)")
        }
        vaeScaleFactor = try config.int("vae_scale_factor", default: 8)
        guard let list = config["classes"]?.arrayValue, !list.isEmpty else {
            throw fail("classes", "missing or empty", "list the classes as [{\"id\": CATEGORY_ID, \"name\": NAME}, ...] in the head's output order")
        }
        classes = try list.enumerated().map { index, value in
            guard let id = value["id"]?.intValue, let name = value["name"]?.stringValue else {
                throw fail("classes", "entry \(index) is not {\"id\": integer, \"name\": string}: \(value)", "fix that entry")
            }
            return DatasetClass(categoryId: id, name: name)
        }
        let range = try config.ints("timestep_range", default: [1, 1])
        guard range.count == 2, range[0] <= range[1] else {
            throw fail("timestep_range", "expected [low, high], got \(range)", "e.g. [1, 50]")
        }
        timestepRange = range[0]...range[1]
        scoreThreshold = try config.float("score_threshold", default: 0.05)
        preNMSTopK = try config.int("pre_nms_top_k", default: 1000)
        nmsIoU = try config.float("nms_iou", default: 0.6)
        let mode = try config.string("nms", default: "classwise")
        guard let nms = NMSMode(rawValue: mode) else {
            throw fail("nms", "unsupported NMS mode \"\(mode)\"", "supported: \(NMSMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.nms = nms
        maxDetections = try config.int("max_detections", default: 100)
        if let c = config["calibration"], !c.isNull {
            guard let threshold = c["threshold"]?.doubleValue, (0...1).contains(threshold),
                  let precision = c["precision"]?.doubleValue, let recall = c["recall"]?.doubleValue else {
                throw fail("calibration", "expected {\"threshold\": 0...1, \"precision\": number, \"recall\": number, \"label_mode\": string}, got \(c)",
                           "rerun tools/calibrate_adapter.py, or remove the key")
            }
            calibration = Calibration(threshold: threshold, precision: precision, recall: recall,
                                      labelMode: c["label_mode"]?.stringValue ?? "taps")
        }
    }
}
