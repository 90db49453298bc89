/// A detection dataset in memory, independent of its on-disk format.
public struct DetectionDataset: Sendable {
    public var info: RawJSON?
    public var licenses: RawJSON?
    public var images: [ImageInfo]
    public var annotations: [Annotation]
    public var categories: [Category]
    public var captions: [Caption]
    /// Problems the loader survived (skipped, clipped, converted records).
    public var issues: [LoadIssue]

    public init(info: RawJSON? = nil, licenses: RawJSON? = nil, images: [ImageInfo] = [], annotations: [Annotation] = [],
                categories: [Category] = [], captions: [Caption] = [], issues: [LoadIssue] = []) {
        self.info = info
        self.licenses = licenses
        self.images = images
        self.annotations = annotations
        self.categories = categories
        self.captions = captions
        self.issues = issues
    }

    /// Annotations grouped by image id, in file order within each image.
    public func annotationsByImage() -> [Int: [Annotation]] {
        Dictionary(grouping: annotations, by: \.imageId)
    }

    /// Captions grouped by image id, in file order within each image.
    public func captionsByImage() -> [Int: [Caption]] {
        Dictionary(grouping: captions, by: \.imageId)
    }
}
