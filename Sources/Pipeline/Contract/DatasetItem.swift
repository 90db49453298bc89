import Datasets

/// What flows between stages: one image with its boxes and captions. A Codable value, so the scheduler can
/// checkpoint it between units.
public struct DatasetItem: Codable, Hashable, Sendable {
    public var image: ImageInfo
    /// Absolute path of the file holding this item's pixels now (the reference image for real items).
    public var sourcePath: String
    public var annotations: [Annotation]
    public var captions: [String]
    /// Generated items: the reference's boxes (with their attributes) moved into the generated image's frame,
    /// the ground truth that labels are compared with. Nil for real items.
    public var referenceAnnotations: [Annotation]?
    /// Generated items: the reference item they were made from, as `generate` saw it, so later stages (category
    /// quotas) can make more variants of it. Nil for real items.
    public var reference: ReferenceSnapshot?
    /// Set on a reference planned for one more variant (a quota round): a generating stage makes only this
    /// variant of it. Nil otherwise (and then not stored).
    public var plannedVariant: Int?

    public init(image: ImageInfo, sourcePath: String, annotations: [Annotation], captions: [String] = [],
                referenceAnnotations: [Annotation]? = nil) {
        self.image = image
        self.sourcePath = sourcePath
        self.annotations = annotations
        self.captions = captions
        self.referenceAnnotations = referenceAnnotations
    }

    /// How a person finds this item in the input: "image 42 (000000000042.jpg)".
    public var label: String { "image \(image.id) (\(image.fileName))" }

    enum CodingKeys: String, CodingKey {
        case image, sourcePath, annotations, captions, referenceAnnotations, reference, plannedVariant
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(ImageInfo.self, forKey: .image)
        sourcePath = RunRelativePath.resolved(try c.decode(String.self, forKey: .sourcePath), decoder.userInfo)
        annotations = try c.decode([Annotation].self, forKey: .annotations)
        captions = try c.decode([String].self, forKey: .captions)
        referenceAnnotations = try c.decodeIfPresent([Annotation].self, forKey: .referenceAnnotations)
        reference = try c.decodeIfPresent(ReferenceSnapshot.self, forKey: .reference)
        plannedVariant = try c.decodeIfPresent(Int.self, forKey: .plannedVariant)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encode(RunRelativePath.stored(sourcePath, encoder.userInfo), forKey: .sourcePath)
        try c.encode(annotations, forKey: .annotations)
        try c.encode(captions, forKey: .captions)
        try c.encodeIfPresent(referenceAnnotations, forKey: .referenceAnnotations)
        try c.encodeIfPresent(reference, forKey: .reference)
        try c.encodeIfPresent(plannedVariant, forKey: .plannedVariant)
    }
}

/// A reference item as a generated item remembers it (DatasetItem cannot hold itself).
public struct ReferenceSnapshot: Codable, Hashable, Sendable {
    public var image: ImageInfo
    public var sourcePath: String
    public var annotations: [Annotation]
    public var captions: [String]

    public init(_ item: DatasetItem) {
        image = item.image
        sourcePath = item.sourcePath
        annotations = item.annotations
        captions = item.captions
    }

    public var item: DatasetItem { DatasetItem(image: image, sourcePath: sourcePath, annotations: annotations, captions: captions) }

    enum CodingKeys: String, CodingKey { case image, sourcePath, annotations, captions }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        image = try c.decode(ImageInfo.self, forKey: .image)
        sourcePath = RunRelativePath.resolved(try c.decode(String.self, forKey: .sourcePath), decoder.userInfo)
        annotations = try c.decode([Annotation].self, forKey: .annotations)
        captions = try c.decode([String].self, forKey: .captions)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(image, forKey: .image)
        try c.encode(RunRelativePath.stored(sourcePath, encoder.userInfo), forKey: .sourcePath)
        try c.encode(annotations, forKey: .annotations)
        try c.encode(captions, forKey: .captions)
    }
}

/// What a dataset says about itself, beside its items: shared by every unit of a run.
public struct DatasetMeta: Codable, Hashable, Sendable {
    public var name: String
    public var categories: [Category]
    public var info: RawJSON?
    public var licenses: RawJSON?

    public init(name: String, categories: [Category], info: RawJSON? = nil, licenses: RawJSON? = nil) {
        self.name = name
        self.categories = categories
        self.info = info
        self.licenses = licenses
    }
}
