import Datasets
import Foundation
import Pipeline

public struct ConfidenceConfig: StageConfig, Equatable {
    /// δ: keep boxes scoring at least this (DiffusionEngine: 0.3).
    public var threshold: Double = 0.3
    /// Drop images left without a box (counted); keep them as negatives with `false`.
    public var dropEmpty: Bool = true

    public init() {}

    enum CodingKeys: String, CodingKey { case threshold, dropEmpty = "drop_empty" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try c.decodeIfPresent(.threshold, into: &threshold)
        try c.decodeIfPresent(.dropEmpty, into: &dropEmpty)
        guard (0...1).contains(threshold) else {
            throw DecodingError.dataCorruptedError(forKey: .threshold, in: c, debugDescription: "threshold (δ) is a score between 0 and 1 (default 0.3)")
        }
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
