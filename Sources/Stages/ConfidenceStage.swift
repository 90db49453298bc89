import Adapter
import Datasets
import Diffusion
import Foundation
import Pipeline

public struct ConfidenceConfig: StageConfig, Equatable {
    /// δ: keep boxes scoring at least this. The paper's value is 0.3 (for its DINO head); `threshold: adapter`
    /// takes the threshold calibrated for the adapter of the label stage before it (`tools/calibrate_adapter.py`).
    public var threshold: Double = 0.3
    /// Drop images left without a box (counted); keep them as negatives with `false`.
    public var dropEmpty: Bool = true
    /// Set when `threshold: adapter`: the adapter folder the number came from and its measured precision and recall.
    public var calibratedBy: Calibrated?

    public struct Calibrated: Codable, Equatable, Sendable {
        public var adapter: String
        public var precision: Double
        public var recall: Double
    }

    /// `threshold: adapter` before linking resolves it.
    var wantsAdapterThreshold = false
    /// `threshold: adapter` whose adapter folder does not exist (yet): refused before a run, as a missing dependency.
    var missingAdapter: String?

    public init() {}

    enum CodingKeys: String, CodingKey { case threshold, dropEmpty = "drop_empty", calibratedBy = "calibrated_by" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        if (try? c.decodeIfPresent(String.self, forKey: .threshold)) == "adapter" {
            wantsAdapterThreshold = true
        } else {
            try c.decodeIfPresent(.threshold, into: &threshold)
        }
        try c.decodeIfPresent(.dropEmpty, into: &dropEmpty)
        guard (0...1).contains(threshold) else {
            throw DecodingError.dataCorruptedError(forKey: .threshold, in: c,
                                                   debugDescription: "threshold (δ) is a score between 0 and 1 (the paper: 0.3), or `adapter` for the adapter's calibrated threshold")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        if wantsAdapterThreshold && calibratedBy == nil {
            try c.encode("adapter", forKey: .threshold)
        } else {
            try c.encode(threshold, forKey: .threshold)
        }
        try c.encode(dropEmpty, forKey: .dropEmpty)
        try c.encodeIfPresent(calibratedBy, forKey: .calibratedBy)
    }

    /// The adapter folder whose calibration set the threshold: its config is part of the run's fingerprint.
    public var dependencies: [String] { calibratedBy.map { [$0.adapter] } ?? missingAdapter.map { [$0] } ?? [] }

    struct LinkError: Error, CustomStringConvertible { var description: String }

    /// `threshold: adapter`: the calibration of the adapter that labels this stage's input (the last label stage
    /// before it; its `adapter`, else the last generate stage's model's `adapter/`).
    public func linking(earlier: [(id: String, config: any StageConfig)]) throws -> ConfidenceConfig {
        guard wantsAdapterThreshold else { return self }
        guard let label = earlier.last(where: { $0.config is LabelConfig }), let labelConfig = label.config as? LabelConfig else {
            throw LinkError(description: "`threshold: adapter` needs a label stage before it (whose adapter was calibrated)")
        }
        guard labelConfig.mode != .results else {
            throw LinkError(description: "`threshold: adapter`: label stage `\(label.id)` reads your detector's results, not an adapter; give δ as a number on your detector's score scale")
        }
        let model = (earlier.last { $0.config is GenerateConfig }?.config as? GenerateConfig)?.model
        guard let folder = labelConfig.adapter ?? model.map({ $0 + "/adapter" }) else {
            throw LinkError(description: "`threshold: adapter`: label stage `\(label.id)` names no adapter and no generate stage precedes it")
        }
        guard FileManager.default.fileExists(atPath: folder) else {
            var copy = self
            copy.missingAdapter = folder
            return copy
        }
        let adapter: AdapterConfig
        do {
            adapter = try AdapterConfig(ComponentConfig(url: URL(fileURLWithPath: folder).appendingPathComponent("config.json")))
        } catch {
            throw LinkError(description: "`threshold: adapter`: cannot read the adapter in \(folder): \(error)")
        }
        guard let calibration = adapter.calibration else {
            throw LinkError(description: "`threshold: adapter`: the adapter in \(folder) has no calibration; run `python tools/calibrate_adapter.py --model MODEL` "
                                + "or give a number (the paper's δ is 0.3)")
        }
        var copy = self
        copy.threshold = calibration.threshold
        copy.calibratedBy = Calibrated(adapter: folder, precision: calibration.precision, recall: calibration.recall)
        return copy
    }
}

/// DiffusionEngine's δ filter: labels scoring below the threshold are dropped; images left with no label are
/// dropped and counted. Boxes without a score (real annotations) are kept.
public final class ConfidenceStage: Stage {
    public let config: ConfidenceConfig

    public init(config: ConfidenceConfig) { self.config = config }

    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        for var item in input.items {
            let before = item.annotations.count
            item.annotations.removeAll { ($0.score ?? 1) < config.threshold }
            out.count("boxes-below-threshold", before - item.annotations.count)
            if item.annotations.isEmpty && config.dropEmpty {
                out.drop(item, reason: "no-confident-boxes", message: "no box scored \(config.threshold) or more (\(before) below)")
                continue
            }
            out.items.append(item)
        }
        return out
    }
}
