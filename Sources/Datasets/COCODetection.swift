/// One record of a COCO results file (what a detector outputs for evaluation):
/// `{"image_id": 42, "category_id": 18, "bbox": [x, y, width, height], "score": 0.87}`.
public struct COCODetection: Hashable, Sendable {
    public var imageId: Int
    public var categoryId: Int
    public var bbox: BoundingBox
    public var score: Double

    public init(imageId: Int, categoryId: Int, bbox: BoundingBox, score: Double) {
        self.imageId = imageId
        self.categoryId = categoryId
        self.bbox = bbox
        self.score = score
    }

    /// The area that decides the detection's size range: `width * height` as given, as pycocotools' `loadRes`
    /// computes it (any `area` field in the results file is ignored, as there).
    @inline(__always) public var area: Double { bbox.width * bbox.height }
}
