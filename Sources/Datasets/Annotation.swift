/// One object annotation (COCO `annotations[]` entry; VOC `<object>`).
public struct Annotation: Codable, Hashable, Sendable {
    public var id: Int
    public var imageId: Int
    public var categoryId: Int
    public var bbox: BoundingBox
    /// COCO's `area` as given (mask area for COCO, box area for VOC and generated boxes).
    public var area: Double
    public var isCrowd: Bool
    /// COCO's segmentation exactly as in the source file (polygons or RLE); nil when there is none.
    public var segmentation: RawJSON?
    /// VOC flags, kept through conversion.
    public var difficult: Bool?
    public var truncated: Bool?
    /// Detector confidence (generated labels, detections).
    public var score: Double?
    /// Perception-aware attribute: "easy", "hard" or "unknown".
    public var attribute: String?

    public init(id: Int, imageId: Int, categoryId: Int, bbox: BoundingBox, area: Double? = nil, isCrowd: Bool = false,
                segmentation: RawJSON? = nil, difficult: Bool? = nil, truncated: Bool? = nil,
                score: Double? = nil, attribute: String? = nil) {
        self.id = id
        self.imageId = imageId
        self.categoryId = categoryId
        self.bbox = bbox
        self.area = area ?? bbox.area
        self.isCrowd = isCrowd
        self.segmentation = segmentation
        self.difficult = difficult
        self.truncated = truncated
        self.score = score
        self.attribute = attribute
    }
}

/// One caption (COCO captions JSON `annotations[]`).
public struct Caption: Codable, Hashable, Sendable {
    public var id: Int
    public var imageId: Int
    public var text: String

    public init(id: Int, imageId: Int, text: String) {
        self.id = id
        self.imageId = imageId
        self.text = text
    }
}
