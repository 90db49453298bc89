import Datasets
import Pipeline

public struct FilterConfig: StageConfig, Equatable {
    public enum AreaMeasure: String, ConfigEnum { case union, sum }

    /// Drop an image whose boxes cover less than this share of it (DetDiffusion: 0.02).
    public var minObjectArea: Double = 0.02
    /// How covered area is measured: `union` (overlaps count once; default) or `sum` of box areas.
    public var objectArea: AreaMeasure = .union
    /// Drop boxes smaller than this many pixels (box width x height) before anything else.
    public var minBoxArea: Double = 0
    /// Drop boxes marked iscrowd.
    public var dropCrowd: Bool = false
    /// Drop images left without boxes.
    public var dropEmpty: Bool = true

    public init() {}

    enum CodingKeys: String, CodingKey {
        case minObjectArea = "min_object_area", objectArea = "object_area", minBoxArea = "min_box_area"
        case dropCrowd = "drop_crowd", dropEmpty = "drop_empty"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try c.decodeIfPresent(.minObjectArea, into: &minObjectArea)
        try c.decodeIfPresent(.objectArea, into: &objectArea)
        try c.decodeIfPresent(.minBoxArea, into: &minBoxArea)
        try c.decodeIfPresent(.dropCrowd, into: &dropCrowd)
        try c.decodeIfPresent(.dropEmpty, into: &dropEmpty)
        guard (0...1).contains(minObjectArea) else {
            throw DecodingError.dataCorruptedError(forKey: .minObjectArea, in: c, debugDescription: "min_object_area is a share of the image, between 0 and 1 (0.02 = 2 %)")
        }
    }
}

/// DetDiffusion's area filter. Per image, in this order: drop crowd boxes (if asked) and boxes under
/// `min_box_area`; drop the image if no box is left (if asked); drop it if the remaining boxes cover less
/// than `min_object_area` of it, measured as the union (default) or the sum of the boxes clipped to the image.
public final class FilterStage: Stage {
    public let config: FilterConfig

    public init(config: FilterConfig) { self.config = config }

    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        var out = UnitOutput()
        for var item in input.items {
            let before = item.annotations.count
            if config.dropCrowd {
                item.annotations.removeAll { $0.isCrowd }
                out.count("boxes-dropped-crowd", before - item.annotations.count)
            }
            let afterCrowd = item.annotations.count
            if config.minBoxArea > 0 {
                item.annotations.removeAll { $0.bbox.area < config.minBoxArea }
                out.count("boxes-dropped-small", afterCrowd - item.annotations.count)
            }
            if item.annotations.isEmpty && config.dropEmpty {
                out.drop(item, reason: "no-boxes", message: before == 0 ? "the image has no boxes" : "no box left after filtering")
                continue
            }
            let w = Double(item.image.width), h = Double(item.image.height)
            let boxes = item.annotations.map(\.bbox)
            let covered = config.objectArea == .union
                ? ObjectCoverage.unionArea(boxes, width: w, height: h)
                : ObjectCoverage.summedArea(boxes, width: w, height: h)
            let share = w * h > 0 ? covered / (w * h) : 0
            if share < config.minObjectArea {
                let pct = (share * 1000).rounded() / 10
                out.drop(item, reason: "small-objects", message: "objects cover \(pct) % of the image")
                continue
            }
            out.items.append(item)
        }
        return out
    }
}
