/// One image of a dataset: COCO's `images[]` entry plus what DataEngine tracks about where it came from.
public struct ImageInfo: Codable, Hashable, Sendable {
    public var id: Int
    /// As the dataset names it (COCO `file_name`, VOC `<filename>`), relative to the image root.
    public var fileName: String
    public var width: Int
    public var height: Int
    /// Set on generated images: how they were made (written as extra per-image fields in COCO output).
    public var provenance: Provenance?

    public init(id: Int, fileName: String, width: Int, height: Int, provenance: Provenance? = nil) {
        self.id = id
        self.fileName = fileName
        self.width = width
        self.height = height
        self.provenance = provenance
    }
}

/// How a generated image was made. Written as extra fields of its COCO `images[]` entry.
public struct Provenance: Codable, Hashable, Sendable {
    public var referenceImageId: Int
    public var variant: Int
    public var seed: UInt64
    public var encodeRatio: Double?
    public var guidance: Double?
    public var scheduler: String?
    public var steps: Int?
    public var tapTimestep: Int?
    public var prompt: String?

    public init(referenceImageId: Int, variant: Int, seed: UInt64, encodeRatio: Double? = nil, guidance: Double? = nil,
                scheduler: String? = nil, steps: Int? = nil, tapTimestep: Int? = nil, prompt: String? = nil) {
        self.referenceImageId = referenceImageId
        self.variant = variant
        self.seed = seed
        self.encodeRatio = encodeRatio
        self.guidance = guidance
        self.scheduler = scheduler
        self.steps = steps
        self.tapTimestep = tapTimestep
        self.prompt = prompt
    }
}
