/// An axis-aligned box in image pixels, COCO convention: `[x, y, width, height]` with (x, y) the top-left
/// corner and pixel (0, 0) covering [0, 1) x [0, 1). VOC's 1-based inclusive corners are converted on load.
public struct BoundingBox: Codable, Hashable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var area: Double { max(0, width) * max(0, height) }
    public var maxX: Double { x + width }
    public var maxY: Double { y + height }

    /// The part of the box inside a `width` x `height` image, or nil when nothing of it is inside.
    public func clipped(toWidth imageWidth: Double, height imageHeight: Double) -> BoundingBox? {
        let x0 = min(max(x, 0), imageWidth), y0 = min(max(y, 0), imageHeight)
        let x1 = min(max(maxX, 0), imageWidth), y1 = min(max(maxY, 0), imageHeight)
        guard x1 > x0, y1 > y0 else { return nil }
        return BoundingBox(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Intersection over union; 0 when either box is empty.
    public func iou(_ other: BoundingBox) -> Double {
        let ix = max(0, min(maxX, other.maxX) - max(x, other.x))
        let iy = max(0, min(maxY, other.maxY) - max(y, other.y))
        let inter = ix * iy
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    enum CodingKeys: CodingKey {}

    // Encoded as COCO's `[x, y, w, h]` array.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        x = try c.decode(Double.self)
        y = try c.decode(Double.self)
        width = try c.decode(Double.self)
        height = try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(x)
        try c.encode(y)
        try c.encode(width)
        try c.encode(height)
    }
}
