import Datasets
/// Statistics of a detection dataset, optionally against the reference it was grown from (COCO-DE against
/// COCO, VOC-DE against VOC). Written by `write(to:)` as stats.md, stats.json, stats.csv and stats.svg.
///
/// Counting rules (the same everywhere in the report):
/// - An *instance* is a non-crowd annotation; an *annotated image* is an image with at least one instance.
///   These are what detectron2 counts when it loads a dataset ("117266 images left", "total 849949" for COCO
///   train2017), which is where the DiffusionEngine paper's Table 1 numbers come from; VOC has no crowd
///   annotations and its `difficult` objects are instances (VOC07+12 trainval: 16,551 images, 47,223).
/// - Per-category counts, COCO size buckets and box-dimension summaries are over instances.
/// - The checks (zero-area boxes, boxes outside their image, crowd, difficult, truncated, attributes, scores)
///   are over all annotations.
public struct DatasetStatistics: Codable, Hashable, Sendable {
    /// The dataset's name ("COCO-DE").
    public var name: String
    /// The reference dataset's name ("COCO"), when a reference was given.
    public var referenceName: String?
    /// The paper's Table 1: the reference row (when given), then this dataset's row.
    public var table: [TableRow]
    /// One row per category id, ascending: the dataset's categories plus any the reference alone has.
    public var categories: [CategoryRow]
    /// This dataset.
    public var dataset: Summary
    /// The reference, when given.
    public var reference: Summary?

    /// A row of Table 1: Dataset | #Images | #Scale | #Instances | #Scale.
    public struct TableRow: Codable, Hashable, Sendable {
        public var dataset: String
        /// Annotated images (with at least one non-crowd annotation).
        public var images: Int
        /// images / reference images; nil on the reference row, without a reference, or when the reference has none.
        public var imageScale: Double?
        /// Non-crowd annotations.
        public var instances: Int
        /// instances / reference instances (nil as for `imageScale`).
        public var instanceScale: Double?
    }

    public struct CategoryRow: Codable, Hashable, Sendable {
        public var id: Int
        public var name: String
        /// Instances of the category in the reference; nil without a reference.
        public var referenceInstances: Int?
        public var instances: Int
        /// Reference images with at least one instance of the category; nil without a reference.
        public var referenceImages: Int?
        public var images: Int
        /// instances / referenceInstances; nil without a reference or when the reference has none.
        public var gain: Double?
    }

    /// COCO's size buckets by annotation `area`: small < 32², medium < 96², large ≥ 96².
    public struct SizeBuckets: Codable, Hashable, Sendable {
        public var small: Int
        public var medium: Int
        public var large: Int
        /// Fractions of all instances (0 when there are none).
        public var smallShare: Double
        public var mediumShare: Double
        public var largeShare: Double
    }

    /// Order statistics of a list of values. Quartiles interpolate linearly between the closest ranks (the
    /// default of numpy.percentile): value at position p·(n−1) of the sorted list.
    public struct Distribution: Codable, Hashable, Sendable {
        public var min: Double
        public var p25: Double
        public var median: Double
        public var p75: Double
        public var max: Double
        public var mean: Double
    }

    /// The perception-aware attribute of each annotation ("easy", "hard", "unknown").
    public struct AttributeCounts: Codable, Hashable, Sendable {
        public var easy: Int
        public var hard: Int
        public var unknown: Int
        /// Annotations with another attribute value.
        public var other: Int
        /// Annotations without an attribute.
        public var missing: Int
    }

    /// Detector confidences in 10 bins over [0, 1]: bin k holds scores in [k/10, (k+1)/10), computed as
    /// ⌊10·score⌋; the last bin also holds 1.0.
    public struct ScoreHistogram: Codable, Hashable, Sendable {
        public var bins: [Int]
        /// Scores below 0, above 1 or not finite.
        public var outOfRange: Int
        /// Annotations without a score.
        public var missing: Int
        /// Mean of the in-range scores; nil when there are none.
        public var mean: Double?
    }

    /// Everything counted about one dataset.
    public struct Summary: Codable, Hashable, Sendable {
        /// All images.
        public var images: Int
        /// Images with at least one non-crowd annotation (Table 1's #Images).
        public var annotatedImages: Int
        /// Images with no annotation at all.
        public var imagesWithoutAnnotations: Int
        /// All annotations, crowd included.
        public var annotations: Int
        /// Non-crowd annotations (Table 1's #Instances).
        public var instances: Int
        public var crowd: Int
        public var difficult: Int
        public var truncated: Int
        /// Boxes with zero width or height.
        public var zeroAreaBoxes: Int
        /// Boxes with an edge more than 0.5 px outside [0, width] × [0, height] of their image.
        public var boxesOutsideImage: Int
        /// Annotations whose image id is not among the images (not checked against an image).
        public var annotationsOfUnknownImages: Int
        /// Annotations whose category id is not among the categories (not in the per-category table).
        public var annotationsOfUnknownCategories: Int
        public var sizes: SizeBuckets
        /// Box width, height and area (width × height) of instances; nil when there are none.
        public var boxWidth: Distribution?
        public var boxHeight: Distribution?
        public var boxArea: Distribution?
        /// Present when at least one annotation has an attribute.
        public var attributes: AttributeCounts?
        /// Present when at least one annotation has a score.
        public var scores: ScoreHistogram?
    }

    /// Computes the statistics of `dataset`, and of `reference` and the comparison when one is given.
    public init(dataset: DetectionDataset, name: String, reference: DetectionDataset? = nil, referenceName: String? = nil) {
        self.init(tally: DatasetTally(dataset), categories: dataset.categories, name: name,
                  reference: reference.map { (DatasetTally($0), $0.categories) }, referenceName: referenceName)
    }

    /// The statistics of a dataset counted as `tally` (with its `categories`), and of a reference, when given.
    public init(tally: DatasetTally, categories datasetCategories: [Category], name: String,
                reference: (tally: DatasetTally, categories: [Category])? = nil, referenceName: String? = nil) {
        self.name = name
        self.referenceName = reference == nil ? nil : (referenceName ?? "reference")
        self.dataset = Self.summarize(tally)
        self.reference = reference.map { Self.summarize($0.tally) }

        var names: [Int: String] = [:]
        for c in reference?.categories ?? [] where names[c.id] == nil { names[c.id] = c.name }
        for c in datasetCategories { names[c.id] = c.name }
        categories = names.keys.sorted().map { id in
            let refInstances = reference.map { $0.tally.categoryInstances[id] ?? 0 }
            let instances = tally.categoryInstances[id] ?? 0
            return CategoryRow(id: id, name: names[id]!,
                               referenceInstances: refInstances, instances: instances,
                               referenceImages: reference.map { $0.tally.categoryImages[id] ?? 0 },
                               images: tally.categoryImages[id] ?? 0,
                               gain: refInstances.flatMap { $0 > 0 ? Double(instances) / Double($0) : nil })
        }

        var rows: [TableRow] = []
        if let ref = self.reference, let refName = self.referenceName {
            rows.append(TableRow(dataset: refName, images: ref.annotatedImages, imageScale: nil,
                                 instances: ref.instances, instanceScale: nil))
        }
        let out = self.dataset
        rows.append(TableRow(
            dataset: name, images: out.annotatedImages,
            imageScale: self.reference.flatMap { $0.annotatedImages > 0 ? Double(out.annotatedImages) / Double($0.annotatedImages) : nil },
            instances: out.instances,
            instanceScale: self.reference.flatMap { $0.instances > 0 ? Double(out.instances) / Double($0.instances) : nil }))
        table = rows
    }

    // MARK: - Counting

    static func summarize(_ t: DatasetTally) -> Summary {
        let total = Double(max(t.instances, 1))
        var scores: ScoreHistogram?
        if t.sawScore {
            var sum = 0.0
            for s in t.scores { sum += s }
            scores = ScoreHistogram(bins: t.scoreBins, outOfRange: t.scoresOutOfRange, missing: t.scoresMissing,
                                    mean: t.scores.isEmpty ? nil : sum / Double(t.scores.count))
        }
        return Summary(
            images: t.images, annotatedImages: t.annotatedImages, imagesWithoutAnnotations: t.imagesWithoutAnnotations,
            annotations: t.annotations,
            instances: t.instances, crowd: t.crowd, difficult: t.difficult, truncated: t.truncated,
            zeroAreaBoxes: t.zeroAreaBoxes, boxesOutsideImage: t.boxesOutsideImage,
            annotationsOfUnknownImages: t.annotationsOfUnknownImages, annotationsOfUnknownCategories: t.annotationsOfUnknownCategories,
            sizes: SizeBuckets(small: t.small, medium: t.medium, large: t.large,
                               smallShare: t.instances == 0 ? 0 : Double(t.small) / total,
                               mediumShare: t.instances == 0 ? 0 : Double(t.medium) / total,
                               largeShare: t.instances == 0 ? 0 : Double(t.large) / total),
            boxWidth: distribution(sorted: t.widths), boxHeight: distribution(sorted: t.heights), boxArea: distribution(sorted: t.areas),
            attributes: t.sawAttribute ? AttributeCounts(easy: t.attributes[0], hard: t.attributes[1], unknown: t.attributes[2],
                                                         other: t.attributes[3], missing: t.attributes[4]) : nil,
            scores: scores)
    }

    /// Min, quartiles (linear interpolation), max and mean of finite values, sorted; nil for none.
    static func distribution(sorted: [Double]) -> Distribution? {
        guard !sorted.isEmpty else { return nil }
        func quantile(_ p: Double) -> Double {
            let position = p * Double(sorted.count - 1)
            let lower = Int(position.rounded(.down))
            let upper = min(lower + 1, sorted.count - 1)
            let fraction = position - Double(lower)
            return fraction == 0 ? sorted[lower] : sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
        }
        var sum = 0.0
        for v in sorted { sum += v }
        return Distribution(min: sorted[0], p25: quantile(0.25), median: quantile(0.5), p75: quantile(0.75),
                            max: sorted[sorted.count - 1], mean: sum / Double(sorted.count))
    }
}
