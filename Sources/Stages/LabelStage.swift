import Adapter
import Datasets
import Diffusion
import Foundation
import Imaging
import Pipeline

public struct LabelConfig: StageConfig, Equatable {
    /// The adapter folder; default: the generating model's `adapter/`.
    public var adapter: String?
    /// β: a generated box inherits the attribute of the reference box of its category it overlaps most, when
    /// that IoU is above this; else its attribute is `unknown`.
    public var iouThreshold: Double = 0.5
    /// Which UNet features the adapter reads.
    public var mode: Mode = .taps
    /// `final-latent`: the timestep the final latent is noised to (default: the lower end of the adapter's range).
    public var timestep: Int?
    /// `results`: the COCO results file of the user's own detector on the generated images.
    public var results: String?

    public enum Mode: String, ConfigEnum {
        /// The last denoising step's taps, from the same UNet call (DiffusionEngine's way; no extra cost).
        case taps
        /// One more UNet call on the final latent noised again to the adapter's timestep: for few-step models,
        /// whose last step runs far above the timesteps an adapter is trained at. Not for adapters with
        /// `vae_encoder_taps`.
        case finalLatent = "final-latent"
        /// Boxes from a COCO results file of the user's own detector on the generated images (no adapter exists for
        /// the model). The run stops after `generate` with the images listed and continues from the file on `resume`.
        case results
    }

    public init() {}

    enum CodingKeys: String, CodingKey { case adapter, iouThreshold = "iou_threshold", mode, timestep, results }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        adapter = try c.decodeIfPresent(String.self, forKey: .adapter)
        try c.decodeIfPresent(.iouThreshold, into: &iouThreshold)
        try c.decodeIfPresent(.mode, into: &mode)
        timestep = try c.decodeIfPresent(Int.self, forKey: .timestep)
        results = try c.decodeIfPresent(String.self, forKey: .results)
        if mode == .results {
            guard let results, !results.isEmpty else {
                throw DecodingError.dataCorruptedError(forKey: .mode, in: c, debugDescription: "`mode: results` needs `results: FILE`, the COCO results file your detector writes for the generated images")
            }
            if adapter != nil {
                throw DecodingError.dataCorruptedError(forKey: .adapter, in: c, debugDescription: "`mode: results` reads boxes from the results file; it runs no adapter")
            }
        } else if results != nil {
            throw DecodingError.dataCorruptedError(forKey: .results, in: c, debugDescription: "results is for `mode: results` (boxes from your detector's COCO results file)")
        }
        if timestep != nil && mode != .finalLatent {
            throw DecodingError.dataCorruptedError(forKey: .timestep, in: c, debugDescription: "timestep is for `mode: final-latent` (the taps mode reads the last step's timestep)")
        }
        if let timestep, !(0...999).contains(timestep) {
            throw DecodingError.dataCorruptedError(forKey: .timestep, in: c, debugDescription: "timestep is a training timestep, 0...999")
        }
        guard (0...1).contains(iouThreshold) else {
            throw DecodingError.dataCorruptedError(forKey: .iouThreshold, in: c, debugDescription: "iou_threshold (β) is between 0 and 1 (default 0.5)")
        }
    }

    public func resolvingPaths(against base: URL) -> LabelConfig {
        var copy = self
        copy.adapter = adapter.map { absolutePath($0, base: base) }
        copy.results = results.map { absolutePath($0, base: base) }
        return copy
    }

    public var dependencies: [String] { adapter.map { [$0] } ?? [] }
}

/// Labels generated images with the Detection-Adapter on the UNet feature taps of the last denoising step, handed
/// over in memory by `generate` (the two run fused in one unit), or (`mode: final-latent`) on the taps of one more
/// UNet call on the final latent noised again to the adapter's timestep. Boxes are in the generated image's pixels, with
/// the adapter's score and an attribute inherited from the cropped reference boxes. Boxes of zero width or
/// height (clipped at an image edge) are dropped and counted.
public final class LabelStage: FusedStage {
    public let config: LabelConfig

    public init(config: LabelConfig) { self.config = config }

    /// Called without generate's features (not fused): says how to fix the pipeline.
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        throw StageError(stage: context.stageId, message: "no UNet features for \(input.items.first?.label ?? "its items")",
                         hint: "a `label` stage must come right after a `generate` stage (they run fused)")
    }

    public func consume(_ input: HandedOver<GeneratedFeatures>, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        var nonFinite = NonFiniteGuard(what: "labelled images")
        for (item, features) in input.pairs {
            var item = item
            if context.isCancelled() { throw CancellationError() }
            let folder = config.adapter ?? features.modelFolder + "/adapter"
            let adapter = try context.models.adapter(folder, stage: context.stageId)
            var clock = PhaseClock()
            var taps = features.taps
            if config.mode == .finalLatent {
                guard !adapter.config.readsVAEEncoder else {
                    throw StageError(stage: context.stageId, message: "the adapter \(folder) reads the VAE encoder (vae_encoder_taps), which `mode: final-latent` does not run",
                                     hint: "use an adapter without vae_encoder_taps, or `mode: taps`")
                }
                let t = config.timestep ?? adapter.config.timestepRange.lowerBound
                let pipeline = try context.models.pipeline(features.modelFolder, loras: features.loras, stage: context.stageId)
                taps = try pipeline.finalLatentTaps(features.finalLatent, timestep: t, settings: features.settings,
                                                    noise: DiffusionNoise(seed: features.noiseSeed))
                item.image.provenance?.tapTimestep = t
                clock.lap("relabel-unet")
            }
            if adapter.timestepWarning(taps.timestep) != nil { out.count("labels-outside-adapter-timestep-range") }
            if adapter.config.readsVAEEncoder {
                let pipeline = try context.models.pipeline(features.modelFolder, loras: features.loras, stage: context.stageId)
                let g = features.generated
                taps.vaeEncoderMidBlock = try pipeline.encoderMidBlock(Img2ImgResult.imageTensor(rgb: g.pixels, width: g.width, height: g.height))
                clock.lap("adapter-encode")
            }
            let detections = try adapter.detect(taps, height: item.image.height, width: item.image.width)
            clock.lap("adapter")
            context.timings.add(clock.laps)
            if let bad = detections.first(where: { ![$0.x0, $0.y0, $0.x1, $0.y1, $0.score].allSatisfy(\.isFinite) }) {
                out.drop(item, reason: NonFiniteGuard.reason, message: "the adapter's output holds NaN or infinite values (\(bad.x0), \(bad.y0), \(bad.x1), \(bad.y1), score \(bad.score))")
                try nonFinite.record(item.label, stage: context.stageId)
                continue
            }
            nonFinite.reset()
            let boxes = detections.filter { $0.width > 0 && $0.height > 0 }
            out.count("labels-without-area", detections.count - boxes.count)
            item.annotations = boxes.prefix(GeneratedIds.maxBoxes).enumerated().map { k, d in
                config.annotation(x0: Double(d.x0), y0: Double(d.y0), x1: Double(d.x1), y1: Double(d.y1), categoryId: d.categoryId,
                                  score: Double(d.score), index: k, item: item)
            }
            out.count("boxes-labelled", item.annotations.count)
            out.items.append(item)
        }
        return out
    }
}

extension LabelConfig {
    /// β's rule: the attribute of the reference box of the same category that overlaps `box` most, when that IoU
    /// is above `iouThreshold`; else `unknown`.
    func inheritedAttribute(_ box: BoundingBox, categoryId: Int, reference: [Annotation]) -> String {
        var best: (iou: Double, attribute: String?)? = nil
        for r in reference where r.categoryId == categoryId {
            let iou = r.bbox.iou(box)
            if iou > iouThreshold, iou > (best?.iou ?? -1) { best = (iou, r.attribute) }
        }
        return best?.attribute ?? "unknown"
    }

    /// A detection as a generated image's box: corners clamped to the image in Double (so x + width never exceeds
    /// it by a float rounding), the id of its place, the score and the inherited attribute.
    func annotation(x0: Double, y0: Double, x1: Double, y1: Double, categoryId: Int, score: Double, index: Int,
                    item: DatasetItem) -> Annotation {
        let (w, h) = (Double(item.image.width), Double(item.image.height))
        let cx0 = min(max(x0, 0), w), cy0 = min(max(y0, 0), h)
        let box = BoundingBox(x: cx0, y: cy0, width: min(x1, w) - cx0, height: min(y1, h) - cy0)
        let refId = item.image.provenance?.referenceImageId ?? item.image.id
        let variant = item.image.provenance?.variant ?? 0
        return Annotation(id: GeneratedIds.box(reference: refId, variant: variant, index: index), imageId: item.image.id,
                          categoryId: categoryId, bbox: box, score: score,
                          attribute: inheritedAttribute(box, categoryId: categoryId, reference: item.referenceAnnotations ?? []))
    }
}
