import Datasets
import Imaging
import Support

/// The generate stage's reference preprocessing: resize keeping the aspect ratio so the short side is `size`,
/// then a square `size` x `size` crop at a seeded offset. Boxes follow: scaled, shifted, clipped to the
/// crop, and dropped when less than `minVisible` of the scaled box remains.
public struct ReferenceCrop: Hashable, Sendable {
    /// Resized size / original size per axis (equal up to rounding of the long side).
    public var scaleX: Double
    public var scaleY: Double
    public var offsetX: Int
    public var offsetY: Int
    public var size: Int
    /// The resized image's size before cropping.
    public var resizedWidth: Int
    public var resizedHeight: Int

    /// Chooses the crop for an image of `width` x `height`; draws at most two numbers from `random` (none for a
    /// side with no slack).
    public init(width: Int, height: Int, size: Int, random: inout SeededRandom) {
        let scale = Double(size) / Double(min(width, height))
        let rw = max(size, Int((Double(width) * scale).rounded()))
        let rh = max(size, Int((Double(height) * scale).rounded()))
        scaleX = Double(rw) / Double(width)
        scaleY = Double(rh) / Double(height)
        self.size = size
        self.resizedWidth = rw
        self.resizedHeight = rh
        offsetX = rw > size ? Int(random.next() % UInt64(rw - size + 1)) : 0
        offsetY = rh > size ? Int(random.next() % UInt64(rh - size + 1)) : 0
    }

    /// The crop's pixels.
    public func apply(to image: RGBImage) throws -> RGBImage {
        let resized = (image.width, image.height) == (resizedWidth, resizedHeight) ? image : image.resized(width: resizedWidth, height: resizedHeight)
        if (resizedWidth, resizedHeight) == (size, size) { return resized }
        return try resized.crop(x: offsetX, y: offsetY, width: size, height: size)
    }

    /// The box in the crop's pixels, or nil when less than `minVisible` of it lies inside the crop.
    public func transform(_ box: BoundingBox, minVisible: Double) -> BoundingBox? {
        transformWithVisibleShare(box, minVisible: minVisible)?.box
    }

    /// The box in the crop's pixels and the share of the scaled box that lies inside the crop, or nil when that
    /// share is below `minVisible`.
    public func transformWithVisibleShare(_ box: BoundingBox, minVisible: Double) -> (box: BoundingBox, visible: Double)? {
        let scaled = BoundingBox(x: box.x * scaleX - Double(offsetX), y: box.y * scaleY - Double(offsetY),
                                 width: box.width * scaleX, height: box.height * scaleY)
        guard scaled.area > 0, let clipped = scaled.clipped(toWidth: Double(size), height: Double(size)) else { return nil }
        let visible = clipped.area / scaled.area
        return visible >= minVisible ? (clipped, visible) : nil
    }

    /// The reference's annotations moved into the crop, the generated image's frame (its `referenceAnnotations`):
    /// ids from `GeneratedIds`, boxes by `transform` (dropped below `minVisible`), category, crowd flag and
    /// attribute kept. The area is the source annotation's own (COCO: the mask's) scaled like the box
    /// (scaleX x scaleY) and times the share of the box still visible, so an object keeps the COCO size bucket
    /// its source area gives it (the box's area would move many boxes up a bucket).
    public func move(_ annotations: [Annotation], reference: Int, variant: Int, minVisible: Double) -> [Annotation] {
        let imageId = GeneratedIds.image(reference: reference, variant: variant)
        var moved: [Annotation] = []
        for a in annotations {
            guard let (box, visible) = transformWithVisibleShare(a.bbox, minVisible: minVisible) else { continue }
            moved.append(Annotation(id: GeneratedIds.box(reference: reference, variant: variant, index: moved.count), imageId: imageId,
                                    categoryId: a.categoryId, bbox: box, area: a.area * scaleX * scaleY * visible,
                                    isCrowd: a.isCrowd, attribute: a.attribute))
        }
        return moved
    }
}
