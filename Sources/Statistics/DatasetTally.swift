import Datasets
import Support

/// Everything `DatasetStatistics` counts about one dataset, in a form that adds up exactly: the tally of a
/// dataset cut into parts with disjoint images, each annotation in the part of its image, is `merged` of the
/// parts' tallies, whatever the order. `dataengine merge` builds the statistics of the merged shards this way,
/// without reading their items again. Value lists are kept sorted (a merge sorts their union), with -0 as 0, so
/// quantiles and sums come out the same from any order.
public struct DatasetTally: Sendable, Equatable {
    public var images = 0
    public var annotatedImages = 0
    public var imagesWithoutAnnotations = 0
    public var annotations = 0
    public var instances = 0
    public var crowd = 0
    public var difficult = 0
    public var truncated = 0
    public var zeroAreaBoxes = 0
    public var boxesOutsideImage = 0
    /// Annotations whose image is not among the images; a part with any cannot be merged exactly.
    public var annotationsOfUnknownImages = 0
    public var annotationsOfUnknownCategories = 0
    public var small = 0, medium = 0, large = 0
    /// easy, hard, unknown, other, missing.
    public var attributes = [0, 0, 0, 0, 0]
    public var scoreBins = [Int](repeating: 0, count: 10)
    public var scoresOutOfRange = 0
    public var scoresMissing = 0
    /// In-range scores, widths, heights and areas (width x height) of instances: finite values, sorted.
    public var scores: [Double] = []
    public var widths: [Double] = []
    public var heights: [Double] = []
    public var areas: [Double] = []
    /// Instances and annotated images per category id.
    public var categoryInstances: [Int: Int] = [:]
    public var categoryImages: [Int: Int] = [:]

    public init() {}

    public var sawAttribute: Bool { attributes[0] + attributes[1] + attributes[2] + attributes[3] > 0 }
    public var sawScore: Bool { annotations - scoresMissing > 0 }
    /// Whether `merged` of this part and others is exact (see the type's note).
    public var isMergeable: Bool { annotationsOfUnknownImages == 0 }

    public init(_ d: DetectionDataset) {
        var sizeById: [Int: (width: Int, height: Int)] = [:]
        for image in d.images { sizeById[image.id] = (image.width, image.height) }
        let categoryIds = Set(d.categories.map(\.id))
        var annotatedImageIds = Set<Int>()
        var anyAnnotationImageIds = Set<Int>()
        var imageSets: [Int: Set<Int>] = [:]
        for a in d.annotations {
            anyAnnotationImageIds.insert(a.imageId)
            if a.isCrowd { crowd += 1 } else {
                instances += 1
                annotatedImageIds.insert(a.imageId)
                categoryInstances[a.categoryId, default: 0] += 1
                imageSets[a.categoryId, default: []].insert(a.imageId)
                if a.area < 32 * 32 { small += 1 } else if a.area < 96 * 96 { medium += 1 } else { large += 1 }
                Self.keep(a.bbox.width, in: &widths)
                Self.keep(a.bbox.height, in: &heights)
                Self.keep(a.bbox.area, in: &areas)
            }
            if a.difficult == true { difficult += 1 }
            if a.truncated == true { truncated += 1 }
            if !(a.bbox.width > 0 && a.bbox.height > 0) { zeroAreaBoxes += 1 }
            if let size = sizeById[a.imageId] {
                let b = a.bbox
                if b.x < -0.5 || b.y < -0.5 || b.maxX > Double(size.width) + 0.5 || b.maxY > Double(size.height) + 0.5 {
                    boxesOutsideImage += 1
                }
            } else {
                annotationsOfUnknownImages += 1
            }
            if !categoryIds.contains(a.categoryId) { annotationsOfUnknownCategories += 1 }
            switch a.attribute {
            case nil: attributes[4] += 1
            case "easy"?: attributes[0] += 1
            case "hard"?: attributes[1] += 1
            case "unknown"?: attributes[2] += 1
            default: attributes[3] += 1
            }
            if let s = a.score {
                if s.isFinite && s >= 0 && s <= 1 {
                    scoreBins[min(9, Int(s * 10))] += 1
                    scores.append(s == 0 ? 0 : s)
                } else {
                    scoresOutOfRange += 1
                }
            } else {
                scoresMissing += 1
            }
        }
        annotations = d.annotations.count
        images = d.images.count
        annotatedImages = d.images.reduce(0) { $0 + (annotatedImageIds.contains($1.id) ? 1 : 0) }
        imagesWithoutAnnotations = d.images.reduce(0) { $0 + (anyAnnotationImageIds.contains($1.id) ? 0 : 1) }
        categoryImages = imageSets.mapValues(\.count)
        for k in [\DatasetTally.scores, \.widths, \.heights, \.areas] { self[keyPath: k].sort() }
    }

    static func keep(_ value: Double, in list: inout [Double]) {
        if value.isFinite { list.append(value == 0 ? 0 : value) }
    }

    /// The tally of the union of `parts` (disjoint images; see the type's note).
    public static func merged(_ parts: [DatasetTally]) -> DatasetTally {
        var t = DatasetTally()
        let counts: [WritableKeyPath<DatasetTally, Int>] = [
            \.images, \.annotatedImages, \.imagesWithoutAnnotations, \.annotations, \.instances, \.crowd, \.difficult, \.truncated,
            \.zeroAreaBoxes, \.boxesOutsideImage, \.annotationsOfUnknownImages, \.annotationsOfUnknownCategories, \.small, \.medium,
            \.large, \.scoresOutOfRange, \.scoresMissing,
        ]
        for part in parts {
            for k in counts { t[keyPath: k] += part[keyPath: k] }
            for i in 0..<5 { t.attributes[i] += part.attributes[i] }
            for i in 0..<10 { t.scoreBins[i] += part.scoreBins[i] }
            for (id, n) in part.categoryInstances { t.categoryInstances[id, default: 0] += n }
            for (id, n) in part.categoryImages { t.categoryImages[id, default: 0] += n }
        }
        for k in [\DatasetTally.scores, \.widths, \.heights, \.areas] {
            var all: [Double] = []
            all.reserveCapacity(parts.reduce(0) { $0 + $1[keyPath: k].count })
            for part in parts { all += part[keyPath: k] }
            all.sort()
            t[keyPath: k] = all
        }
        return t
    }

    // MARK: Stored form

    public func write(into out: inout BinaryWriter) {
        out.ints([images, annotatedImages, imagesWithoutAnnotations, annotations, instances, crowd, difficult, truncated, zeroAreaBoxes,
                  boxesOutsideImage, annotationsOfUnknownImages, annotationsOfUnknownCategories, small, medium, large,
                  scoresOutOfRange, scoresMissing])
        out.ints(attributes)
        out.ints(scoreBins)
        for list in [scores, widths, heights, areas] { out.doubles(list) }
        for table in [categoryInstances, categoryImages] {
            let ids = table.keys.sorted()
            out.ints(ids)
            out.ints(ids.map { table[$0]! })
        }
    }

    public init(from reader: inout BinaryReader) throws {
        let counts = try reader.ints()
        let attributes = try reader.ints()
        let bins = try reader.ints()
        guard counts.count == 17, attributes.count == 5, bins.count == 10 else {
            throw BinaryReader.Failure(file: "statistics tally", message: "holds \(counts.count) counts, \(attributes.count) attributes and \(bins.count) score bins (17, 5 and 10 expected)")
        }
        (images, annotatedImages, imagesWithoutAnnotations, annotations, instances, crowd, difficult, truncated) =
            (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7])
        (zeroAreaBoxes, boxesOutsideImage, annotationsOfUnknownImages, annotationsOfUnknownCategories) = (counts[8], counts[9], counts[10], counts[11])
        (small, medium, large, scoresOutOfRange, scoresMissing) = (counts[12], counts[13], counts[14], counts[15], counts[16])
        self.attributes = attributes
        scoreBins = bins
        scores = try reader.doubles()
        widths = try reader.doubles()
        heights = try reader.doubles()
        areas = try reader.doubles()
        for k in [\DatasetTally.categoryInstances, \.categoryImages] {
            let ids = try reader.ints(), values = try reader.ints()
            guard ids.count == values.count else { throw BinaryReader.Failure(file: "statistics tally", message: "holds \(ids.count) category ids for \(values.count) counts") }
            self[keyPath: k] = Dictionary(zip(ids, values), uniquingKeysWith: +)
        }
    }
}
