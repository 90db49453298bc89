/// Pascal VOC box coordinates: 1-based, inclusive pixel corners (`xmin ymin xmax ymax`); a box covering only
/// the top-left pixel is `1 1 1 1`. DataEngine's `BoundingBox` is COCO's `[x, y, width, height]` with pixel
/// (0, 0) covering [0, 1) x [0, 1), so the same pixel is `[0, 0, 1, 1]`.
public enum VOCCoordinates {
    /// VOC corners to a COCO-convention box: x = xmin - 1, y = ymin - 1, width = xmax - xmin + 1,
    /// height = ymax - ymin + 1. Fractional coordinates (some VOC-style files have them) convert the same way.
    public static func box(xmin: Double, ymin: Double, xmax: Double, ymax: Double) -> BoundingBox {
        BoundingBox(x: xmin - 1, y: ymin - 1, width: xmax - xmin + 1, height: ymax - ymin + 1)
    }

    /// A COCO-convention box to VOC corners: xmin = x + 1, ymin = y + 1, xmax = x + width, ymax = y + height.
    public static func corners(of box: BoundingBox) -> (xmin: Double, ymin: Double, xmax: Double, ymax: Double) {
        (box.x + 1, box.y + 1, box.x + box.width, box.y + box.height)
    }

    /// How a VOC writer spells a coordinate: rounded to 1e-6 pixel (so `x + 1` written and `- 1` read back
    /// does not drift by a floating-point ulp), then as an integer when integral ("48"), else in the shortest
    /// form that reads back to the same value ("48.3").
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return "\(rounded)"
    }
}
