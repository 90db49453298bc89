import Datasets
import Foundation
import Pipeline

public struct QuotaConfig: StageConfig, Equatable {
    /// The annotation lower bound: every category should reach this many kept labels.
    public var minInstancesPerCategory: Int = 0
    /// A reference gets at most this many variants in all (the planned ones included).
    public var maxVariantsPerImage: Int = 4
    /// The ids of the stages whose settings the extra rounds reuse.
    public var generate: String = "generate"
    public var label: String = "label"
    public var confidence: String = "confidence"
    /// Filled in from those stages when the pipeline is read (and so part of the plan's hash).
    public var generateConfig: GenerateConfig?
    public var labelConfig: LabelConfig?
    public var confidenceConfig: ConfidenceConfig?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case minInstancesPerCategory = "min_instances_per_category", maxVariantsPerImage = "max_variants_per_image"
        case generate, label, confidence
        case generateConfig = "generate_config", labelConfig = "label_config", confidenceConfig = "confidence_config"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        minInstancesPerCategory = try c.decode(Int.self, forKey: .minInstancesPerCategory)
        try c.decodeIfPresent(.maxVariantsPerImage, into: &maxVariantsPerImage)
        try c.decodeIfPresent(.generate, into: &generate)
        try c.decodeIfPresent(.label, into: &label)
        try c.decodeIfPresent(.confidence, into: &confidence)
        guard minInstancesPerCategory >= 1 else {
            throw DecodingError.dataCorruptedError(forKey: .minInstancesPerCategory, in: c, debugDescription: "min_instances_per_category is at least 1")
        }
        guard (1..<GeneratedIds.maxVariants).contains(maxVariantsPerImage) else {
            throw DecodingError.dataCorruptedError(forKey: .maxVariantsPerImage, in: c, debugDescription: "max_variants_per_image is 1...\(GeneratedIds.maxVariants - 1)")
        }
    }

    struct LinkError: Error, CustomStringConvertible { var description: String }

    public func linking(earlier: [(id: String, config: any StageConfig)]) throws -> QuotaConfig {
        func find<T>(_ id: String, _ kind: String, _ type: T.Type) throws -> T {
            guard let entry = earlier.last(where: { $0.id == id }) else {
                throw LinkError(description: "names `\(id)` as its \(kind) stage, but no earlier stage has that id (set `\(kind): <id>`)")
            }
            guard let config = entry.config as? T else {
                throw LinkError(description: "`\(id)` is not a \(kind) stage (set `\(kind): <id>` to the right one)")
            }
            return config
        }
        var copy = self
        copy.generateConfig = try find(generate, "generate", GenerateConfig.self)
        copy.labelConfig = try find(label, "label", LabelConfig.self)
        guard copy.labelConfig?.mode != .results else {
            throw LinkError(description: "`\(label)` reads a detector's results file (`mode: results`), which holds no boxes for the variants a round adds; a quota needs labels made during the run (`mode: taps` or `final-latent`)")
        }
        copy.confidenceConfig = try find(confidence, "confidence", ConfidenceConfig.self)
        guard maxVariantsPerImage >= copy.generateConfig!.variants else {
            throw LinkError(description: "max_variants_per_image (\(maxVariantsPerImage)) is below the \(copy.generateConfig!.variants) variants `\(generate)` already makes")
        }
        return copy
    }

    public var dependencies: [String] { generateConfig?.dependencies ?? [] }
}

/// The paper's annotation lower bound. After the planned variants (its input: the confident labelled items),
/// rounds follow: tally the kept labels per category; for the categories still below the minimum, every
/// reference containing one of them (and below `max_variants_per_image`) gets one more variant, generated,
/// labelled and filtered by the named stages' settings with the seeds they would have used; repeat until every
/// category reaches the minimum, no reference is left, or the variants run out. Each round runs as ordinary units on
/// all workers, checkpointed per unit (`RoundsStage`). References none of whose planned variants kept a label are
/// not seen here.
public final class QuotaStage: RoundsStage {
    public let config: QuotaConfig

    public init(config: QuotaConfig) { self.config = config }

    public func roundStages() throws -> [(id: String, stage: any Stage)] {
        guard let g = config.generateConfig, let l = config.labelConfig, let c = config.confidenceConfig else {
            throw StageError(stage: "quota", message: "the quota stage was not linked to its generate, label and confidence stages")
        }
        return [(config.generate, GenerateStage(config: g)), (config.label, LabelStage(config: l)), (config.confidence, ConfidenceStage(config: c))]
    }

    public func planRound(input: [DatasetItem], planned: [[DatasetItem]], results: [DatasetItem], context: StageContext) throws -> UnitOutput {
        guard let g = config.generateConfig else {
            throw StageError(stage: context.stageId, message: "the quota stage was not linked to its generate stage")
        }
        var references: [Int: ReferenceSnapshot] = [:]
        for item in input { if let r = item.reference, references[r.image.id] == nil { references[r.image.id] = r } }
        var variants = Dictionary(uniqueKeysWithValues: references.keys.map { ($0, g.variants) })
        for item in planned.joined() { variants[item.image.id, default: g.variants] += 1 }
        let counts = (input + results).reduce(into: [Int: Int]()) { tally, item in for a in item.annotations { tally[a.categoryId, default: 0] += 1 } }
        let below = Set(context.meta.categories.map(\.id).filter { counts[$0, default: 0] < config.minInstancesPerCategory })
        let candidates = references.keys.sorted().filter { id in
            variants[id]! < config.maxVariantsPerImage && references[id]!.annotations.contains { below.contains($0.categoryId) }
        }
        var out = UnitOutput()
        if below.isEmpty || candidates.isEmpty {
            out.count("quota-categories-below-minimum", below.count)
            out.count("quota-rounds", planned.count)
            out.count("quota-images-generated", planned.reduce(0) { $0 + $1.count })
            out.count("quota-images-kept", results.count)
            return out
        }
        out.items = candidates.map { id in
            var item = references[id]!.item
            item.plannedVariant = variants[id]!
            return item
        }
        return out
    }
}
