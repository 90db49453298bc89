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

    /// The integer corners a VOC writer writes for a box in a `width` x `height` image (VOC stores integer
    /// pixels; torchvision's VOC wrapper and `int(text)` readers refuse fractions). Per axis, both edges of the
    /// box (`x` and `x + width`) are rounded to the nearest pixel boundary (halves away from zero) and clamped
    /// to the image, then the box is widened to at least two pixels, inside the image, so `xmax > xmin` and
    /// `ymax > ymin` (an image one pixel wide or high cannot hold that: there `xmin == xmax == 1`). The
    /// corners follow `corners(of:)`: xmin = left edge + 1, xmax = right edge. A non-finite coordinate gives the
    /// image's first two pixels. Sub-pixel boxes stay in COCO output.
    public static func integerCorners(of box: BoundingBox, width: Int, height: Int) -> (xmin: Int, ymin: Int, xmax: Int, ymax: Int) {
        let (x0, x1) = pixelEdges(box.x, box.x + box.width, size: width)
        let (y0, y1) = pixelEdges(box.y, box.y + box.height, size: height)
        return (x0 + 1, y0 + 1, x1, y1)
    }

    /// Rounded, clamped and widened edges `lo < hi` (0-based pixel boundaries) of one axis.
    static func pixelEdges(_ low: Double, _ high: Double, size: Int) -> (Int, Int) {
        let size = max(1, size)
        guard low.isFinite, high.isFinite else { return (0, min(2, size)) }
        func edge(_ v: Double) -> Int { Int(min(max(v.rounded(.toNearestOrAwayFromZero), 0), Double(size))) }
        var lo = edge(min(low, high)), hi = edge(max(low, high))
        if hi - lo < 2 {
            hi = min(size, lo + 2)
            lo = max(0, hi - 2)
        }
        return (lo, hi)
    }

    /// How a coordinate is spelled in messages: rounded to 1e-6 pixel (so `x + 1` written and `- 1` read back
    /// does not drift by a floating-point ulp), then as an integer when integral ("48"), else in the shortest
    /// form that reads back to the same value ("48.3").
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 1_000_000).rounded() / 1_000_000
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int64(rounded)) }
        return "\(rounded)"
    }
}
