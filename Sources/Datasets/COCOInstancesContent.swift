/// The records of a COCO instances file as parsed, before the checks that need the whole file: annotation id
/// uniqueness, annotations naming unknown images or categories, boxes against their image, unsafe file names.
struct COCOInstancesContent {
    var info: RawJSON?
    var licenses: RawJSON?
    var images: [ImageInfo] = []
    /// Byte offset of each image record (for the duplicate-id error), emptied once checked.
    var imageOffsets: [Int] = []
    /// Image id -> index in `images`.
    var imageIndex = COCOIdIndex([])
    var annotations: [Annotation] = []
    var categories: [Category] = []
    var categoryIndexById: [Int: Int] = [:]
    var sawImages = false
    var sawAnnotations = false
    var sawCategories = false
    /// Set by `validated`: ids of images refused for their file name (their captions are skipped silently).
    var refusedImageIds: Set<Int> = []

    /// Runs the cross-record checks and returns the dataset: refused and dangling records are dropped with a
    /// LoadIssue each, boxes are clipped to their image. Order stays file order.
    mutating func validated(file: String) throws -> DetectionDataset {
        try checkAnnotationIdsAreUnique(file: file)

        // Image file names that would escape the image root.
        var refused = [Bool](repeating: false, count: images.count)
        var refusals: [(index: Int, reason: String)] = []
        for i in images.indices {
            if let reason = ImageFileNameSafety.refusal(for: images[i].fileName) {
                refused[i] = true
                refusedImageIds.insert(images[i].id)
                refusals.append((i, reason))
            }
        }
        var annotationsOfRefused = [Int: Int]()

        let categoryIndex = COCOIdIndex(categories.lazy.map(\.id))
        let sizes = images.map { (w: Double($0.width), h: Double($0.height)) }
        var issues: [LoadIssue] = []
        var kept = 0
        let total = annotations.count
        for r in 0..<total {
            // Most annotations pass unchanged: read their fields in place, copy only the ones that move or change.
            let (imageId, categoryId, box) = (annotations[r].imageId, annotations[r].categoryId, annotations[r].bbox)
            var record: String { COCOParser.record("annotation", r, id: annotations[r].id) }
            guard let imageIndex = imageIndex.position(of: imageId) else {
                issues.append(LoadIssue(kind: .unknownImage, file: file, record: record,
                                        message: "refers to image id \(imageId), which is not in the file's images; skipped"))
                continue
            }
            if refused[imageIndex] {
                annotationsOfRefused[imageIndex, default: 0] += 1
                continue
            }
            guard categoryIndex.position(of: categoryId) != nil else {
                issues.append(LoadIssue(kind: .unknownCategory, file: file, record: record,
                                        message: "refers to category id \(categoryId), which is not in the file's categories; skipped"))
                continue
            }
            guard box.width > 0 && box.height > 0 else {
                issues.append(LoadIssue(kind: .boxDropped, file: file, record: record,
                                        message: "box \(Self.format(box)) has a zero or negative width or height; dropped"))
                continue
            }
            let (w, h) = sizes[imageIndex]
            var size: String { "\(images[imageIndex].width)x\(images[imageIndex].height)" }
            if box.x < 0 || box.y < 0 || box.maxX > w || box.maxY > h {
                guard let clipped = box.clipped(toWidth: w, height: h) else {
                    issues.append(LoadIssue(kind: .boxDropped, file: file, record: record,
                                            message: "box \(Self.format(box)) lies entirely outside its \(size) image; dropped"))
                    continue
                }
                annotations[r].bbox = clipped
                if annotations[r].area > clipped.area { annotations[r].area = clipped.area }
                issues.append(LoadIssue(kind: .boxClipped, file: file, record: record,
                                        message: "box \(Self.format(box)) extends outside its \(size) image; clipped to \(Self.format(clipped))"))
            }
            if kept != r { annotations[kept] = annotations[r] }
            kept += 1
        }
        annotations.removeLast(total - kept)

        var imageIssues: [LoadIssue] = []
        if !refusals.isEmpty {
            for (i, reason) in refusals {
                let image = images[i]
                let skipped = annotationsOfRefused[i, default: 0]
                let also = skipped == 0 ? "" : " (its \(skipped) annotation\(skipped == 1 ? " was" : "s were") skipped too)"
                imageIssues.append(LoadIssue(kind: .unsafePath, file: file, record: COCOParser.record("image", i, id: image.id),
                                             message: "file name \"\(image.fileName)\" \(reason): refused: would read outside the image root; "
                                                 + "file names must be relative paths inside the image root\(also)"))
            }
            var keptImages: [ImageInfo] = []
            keptImages.reserveCapacity(images.count - refusals.count)
            for i in images.indices where !refused[i] { keptImages.append(images[i]) }
            images = keptImages
        }
        return DetectionDataset(info: info, licenses: licenses, images: images, annotations: annotations,
                                categories: categories, issues: imageIssues + issues)
    }

    /// Annotation ids must be unique; checked on the sorted ids (cheaper than a 860k-entry hash table).
    func checkAnnotationIdsAreUnique(file: String) throws {
        var ids = annotations.map(\.id)
        var sorted = true
        for i in ids.indices.dropFirst() where ids[i - 1] >= ids[i] { sorted = false; break }
        if sorted { return }
        ids.sort()
        for i in ids.indices.dropFirst() where ids[i - 1] == ids[i] {
            let id = ids[i]
            let first = annotations.firstIndex { $0.id == id }!
            let second = annotations[(first + 1)...].firstIndex { $0.id == id }!
            throw DatasetError(file: file, location: COCOParser.record("annotation", second, id: id),
                               message: "duplicate annotation id \(id): annotation #\(first) has the same id",
                               hint: "annotation ids must be unique: re-export the file, or renumber the annotations")
        }
    }

    /// "[1, 2.5, 3, 4]" for messages.
    static func format(_ b: BoundingBox) -> String {
        "[\(format(b.x)), \(format(b.y)), \(format(b.width)), \(format(b.height))]"
    }

    static func format(_ d: Double) -> String {
        if d.rounded() == d && abs(d) <= 9_007_199_254_740_992 { return String(Int(d)) }
        return d.description
    }
}
