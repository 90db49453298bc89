import Foundation
import Datasets
import Pipeline
import Statistics
import Support

/// What a write stage leaves in a shard's run for `merge` to splice its output (`SplicingSink`),
/// `splice/<stage>/write.bin`: per output item its image id, record counts and file name as written; for COCO,
/// where every record lies in the files it wrote; the statistics tallies of the output and of the shard's source;
/// the items its preview could show.
struct WriteSpliceParts {
    static let tag = "dataengine-write-splice-1"
    static func file(in folder: URL) -> URL { folder.appendingPathComponent("write.bin") }

    var imageIds: [Int] = []
    var annotationCounts: [Int] = []
    var captionCounts: [Int] = []
    /// 1 for a generated item (it is in `reference_boxes_<name>.json`), else 0.
    var generated: [Int] = []
    var referenceBoxCounts: [Int] = []
    /// `file_name` as the shard wrote it: `shard-NNNNN/<name>.jpg`, relative to its `images/`.
    var fileNames: [String] = []
    var annotationIds: [Int] = []
    /// COCO only: where the records of the instances, captions and reference-boxes files lie.
    var instances: COCOWriter.Layout?
    var captions: COCOWriter.Layout?
    var referenceBoxes: COCOWriter.Layout?
    var tally: DatasetTally
    var referenceTally: DatasetTally
    /// The generated items of the (at most `GenerationPreview.rows`) lowest reference ids, and those references:
    /// the only items a preview of any union of shards can show. Generated items' paths are kept relative to
    /// the shard's `images/` (their `file_name`).
    var previewItems: [DatasetItem] = []
    var previewReferences: [DatasetItem] = []
    /// Images the shard renamed (a splice cannot rename).
    var renamed: Int
    /// With `include_references`: how many of the items, at the end, are the references written beside the
    /// generated ones (`images/references/`), and how many references could not be written (a splice cannot
    /// order their messages).
    var references: Int
    var problems: Int

    /// The unit items: the items before the references.
    var unitItems: Int { imageIds.count - references }

    init(items: [DatasetItem], referenceItems: [DatasetItem], instances: COCOWriter.Layout?, captions: COCOWriter.Layout?,
         referenceBoxes: COCOWriter.Layout?, tally: DatasetTally, referenceTally: DatasetTally, renamed: Int, references: Int, problems: Int) {
        for item in items {
            imageIds.append(item.image.id)
            annotationCounts.append(item.annotations.count)
            captionCounts.append(item.captions.count)
            generated.append(item.image.provenance == nil ? 0 : 1)
            referenceBoxCounts.append(item.image.provenance == nil ? 0 : item.referenceAnnotations?.count ?? 0)
            fileNames.append(item.image.fileName)
            annotationIds += item.annotations.map(\.id)
        }
        (self.instances, self.captions, self.referenceBoxes) = (instances, captions, referenceBoxes)
        (self.tally, self.referenceTally, self.renamed, self.references, self.problems) = (tally, referenceTally, renamed, references, problems)
        let shown = Set(Set(items.compactMap { $0.image.provenance?.referenceImageId }).sorted().prefix(GenerationPreview.rows))
        previewItems = items.filter { $0.image.provenance.map { shown.contains($0.referenceImageId) } ?? false }.map { item in
            var item = item
            item.sourcePath = item.image.fileName
            return item
        }
        previewReferences = referenceItems.filter { shown.contains($0.image.id) }
    }

    func write(to url: URL) throws {
        var out = BinaryWriter(tag: Self.tag)
        for list in [imageIds, annotationCounts, captionCounts, generated, referenceBoxCounts, annotationIds] { out.ints(list) }
        out.strings(fileNames)
        for layout in [instances, captions, referenceBoxes] {
            out.int(layout == nil ? 0 : 1)
            if let layout { Self.write(layout, into: &out) }
        }
        tally.write(into: &out)
        referenceTally.write(into: &out)
        let encoder = JSONEncoder()
        out.blob(Array(try encoder.encode(previewItems)))
        out.blob(Array(try encoder.encode(previewReferences)))
        out.ints([renamed, references, problems])
        try AtomicFile.write(out.bytes, to: url)
    }

    static func write(_ layout: COCOWriter.Layout, into out: inout BinaryWriter) {
        out.ints([layout.headerEnd, layout.images.first, layout.annotations.first, layout.tailStart])
        out.ints(layout.images.ends)
        out.ints(layout.annotations.ends)
    }

    init(contentsOf url: URL) throws {
        var reader = try BinaryReader(contentsOf: url, tag: Self.tag)
        imageIds = try reader.ints()
        annotationCounts = try reader.ints()
        captionCounts = try reader.ints()
        generated = try reader.ints()
        referenceBoxCounts = try reader.ints()
        annotationIds = try reader.ints()
        fileNames = try reader.strings()
        var layouts: [COCOWriter.Layout?] = []
        for _ in 0..<3 {
            if try reader.int() == 0 { layouts.append(nil); continue }
            let marks = try reader.ints()
            guard marks.count == 4 else { throw BinaryReader.Failure(file: url.path, message: "holds a damaged file layout") }
            layouts.append(COCOWriter.Layout(headerEnd: marks[0], images: .init(first: marks[1], ends: try reader.ints()),
                                             annotations: .init(first: marks[2], ends: try reader.ints()), tailStart: marks[3]))
        }
        guard layouts.allSatisfy({ $0?.isOrdered ?? true }) else { throw BinaryReader.Failure(file: url.path, message: "holds a damaged file layout") }
        (instances, captions, referenceBoxes) = (layouts[0], layouts[1], layouts[2])
        tally = try DatasetTally(from: &reader)
        referenceTally = try DatasetTally(from: &reader)
        let decoder = JSONDecoder()
        previewItems = try decoder.decode([DatasetItem].self, from: Data(try reader.blob()))
        previewReferences = try decoder.decode([DatasetItem].self, from: Data(try reader.blob()))
        let counters = try reader.ints()
        guard counters.count == 3 else { throw BinaryReader.Failure(file: url.path, message: "is damaged (\(counters.count) counters)") }
        (renamed, references, problems) = (counters[0], counters[1], counters[2])
        let n = imageIds.count
        let counts = [annotationCounts, captionCounts, generated, referenceBoxCounts]
        guard reader.isAtEnd, (0...n).contains(references), counts.allSatisfy({ $0.count == n && $0.allSatisfy { $0 >= 0 } }), fileNames.count == n, generated.allSatisfy({ $0 <= 1 }),
              annotationCounts.reduce(0, +) == annotationIds.count,
              instances.map({ $0.images.count == n && $0.annotations.count == annotationIds.count }) ?? (captions == nil && referenceBoxes == nil),
              captions.map({ $0.images.count == n && $0.annotations.count == captionCounts.reduce(0, +) }) ?? true,
              referenceBoxes.map({ $0.images.count == generated.reduce(0, +) && $0.annotations.count == referenceBoxCounts.reduce(0, +) }) ?? true
        else {
            throw BinaryReader.Failure(file: url.path, message: "is damaged (its lists disagree on the number of items or records)")
        }
    }
}

extension COCOWriter.Layout {
    /// Header, records and tail in order, none overlapping: every range a splice takes is a valid one.
    var isOrdered: Bool {
        headerEnd >= 0 && images.isOrdered(after: headerEnd) && annotations.isOrdered(after: images.ends.last ?? images.first)
            && tailStart >= (annotations.ends.last ?? annotations.first)
    }

    /// Whether the layout fits a file of `size` bytes.
    func fits(_ size: Int) -> Bool { isOrdered && tailStart <= size }
}

extension COCOWriter.Records {
    func isOrdered(after start: Int) -> Bool {
        guard first >= start else { return false }
        var previous = first - 2
        for end in ends {
            guard end >= previous + 2 else { return false }
            previous = end
        }
        return true
    }
}
