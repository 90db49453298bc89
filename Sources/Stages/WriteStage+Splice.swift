import Foundation
import Datasets
import Imaging
import Pipeline
import Statistics
import Support

/// `dataengine merge` of a write stage by splicing (`SplicingSink`): COCO's merged instances, captions and
/// reference-boxes files are the shards' records in the unsharded order, copied byte for byte from the files the
/// shards wrote (each image's `file_name` moved to its unsharded unit folder, caption ids counted again); VOC's
/// and YOLO's per-image files are linked and their index files written in that order; the statistics come from
/// the shards' tallies and the preview from the items each shard's preview could show.
extension WriteStage: SplicingSink {
    public func splice(_ shards: [SpliceInput], order: SpliceOrder, context: StageContext) throws -> SinkSummary? {
        try splice(shards, order: order, context: context, linkingImages: true)
    }

    /// `splice`; without `linkingImages` the image files are left out (`bench merge`: images excluded).
    public func splice(_ shards: [SpliceInput], order: SpliceOrder, context: StageContext, linkingImages: Bool) throws -> SinkSummary? {
        guard let root = context.outputDirectory, shards.count == order.units.count,
              let parts = try? Support.parallelMap(count: shards.count, { try WriteSpliceParts(contentsOf: WriteSpliceParts.file(in: shards[$0].parts)) }),
              zip(parts, order.units).allSatisfy({ $0.unitItems == $1.count }),
              parts.allSatisfy({ $0.renamed == 0 && $0.problems == 0 && $0.tally.isMergeable && $0.referenceTally.isMergeable }),
              Self.idsAreUnique(parts.map(\.imageIds)), Self.idsAreUnique(parts.map(\.annotationIds))
        else { return nil }
        let statistics = BackgroundValue {
            self.statistics(DatasetTally.merged(parts.map(\.tally)), reference: DatasetTally.merged(parts.map(\.referenceTally)), context: context)
        }
        let records = SpliceSequence(sequence: order.sequence + Self.referenceSequence(parts))
        var outputs: [String: String] = [:]
        switch config.format {
        case .coco:
            guard try spliceCOCO(shards, parts: parts, records: records, order: order, name: datasetName(context), root: root, outputs: &outputs) else { return nil }
        case .voc, .yolo:
            try writeDatasetIndex(fileNames: records.sequence.map { parts[$0.shard].fileNames[$0.item] }, root: root, context: context, outputs: &outputs)
        }
        if parts.contains(where: { $0.generated.contains(1) }) {
            try writePreview(generated: parts.enumerated().flatMap { s, part in part.previewItems.map { item in
                var item = item
                item.sourcePath = shards[s].output.appendingPathComponent(imagePath(item.image.fileName), isDirectory: false).path
                return item
            } }, references: parts.flatMap(\.previewReferences), root: root, context: context, outputs: &outputs)
        }
        try link(shards, parts: parts, records: records, order: order, root: root, images: linkingImages)
        try statistics.value.write(to: root)
        outputs["statistics"] = root.appendingPathComponent("stats.md").path
        return SinkSummary(outputs: outputs, images: records.sequence.count, annotations: parts.reduce(0) { $0 + $1.annotationIds.count })
    }

    /// COCO's instances file (header, every item's image record, every item's annotation records, categories),
    /// captions and reference boxes; false when a shard's files do not hold what its parts say.
    func spliceCOCO(_ shards: [SpliceInput], parts: [WriteSpliceParts], records: SpliceSequence, order: SpliceOrder, name: String, root: URL,
                    outputs: inout [String: String]) throws -> Bool {
        let layouts = parts.compactMap(\.instances)
        guard layouts.count == parts.count else { return false }
        let instances = try Support.parallelMap(count: shards.count) {
            try Self.contents(of: shards[$0].output.appendingPathComponent("annotations/instances_\(name).json"))
        }
        // The mapped files are read through `bytes` until the end of the splice.
        defer { withExtendedLifetime(instances) {} }
        guard let list = SplicedList(files: instances, layouts: layouts) else { return false }
        let instancesFile = root.appendingPathComponent("annotations/instances_\(name).json")
        let annotationStarts = parts.map { Self.starts($0.annotationCounts) }
        guard try records.write(to: instancesFile, header: list.header, tail: list.tail,
                                 images: (parts.map(\.imageCountPerItem), Self.imageRecords(instances, list: list, order: order)),
                                 annotations: (parts.map(\.annotationCounts), { out, s, item, k, _ in
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: instances[s].bytes[list.annotationRange(s, annotationStarts[s][item] + k)]))
            return true
        })) else { return false }
        outputs["annotations"] = instancesFile.path
        outputs["images"] = root.appendingPathComponent("images").path
        let companion = Companion(shards: shards, records: records, list: list, instances: instances, order: order)
        if config.captions && parts.contains(where: { $0.captionCounts.contains { $0 > 0 } }) {
            // Every item's image record, then each caption with its id counted again from 1 in the unsharded order.
            let path = "annotations/captions_\(name).json"
            guard try companion.splice(path, to: root, layouts: parts.map(\.captions), images: parts.map(\.imageCountPerItem),
                                        records: parts.map(\.captionCounts), renumbered: true, ownTail: true) else { return false }
            outputs["captions"] = root.appendingPathComponent(path).path
        }
        if parts.contains(where: { $0.generated.contains(1) }) {
            // The generated items' image records and their reference boxes.
            let path = "annotations/reference_boxes_\(name).json"
            guard try companion.splice(path, to: root, layouts: parts.map(\.referenceBoxes), images: parts.map(\.generated),
                                        records: parts.map(\.referenceBoxCounts), renumbered: false, ownTail: false) else { return false }
            outputs["reference_boxes"] = root.appendingPathComponent(path).path
        }
        return true
    }

    /// A file COCO writes beside the instances file (captions, reference boxes): the instances file's header and
    /// image records, then records of its own, spliced from the same file of every shard.
    struct Companion {
        let shards: [SpliceInput]
        let records: SpliceSequence
        let list: SplicedList
        let instances: [MappedFile]
        let order: SpliceOrder

        /// Writes `root/path`: per item `images[shard][item]` image records and `records[shard][item]` records of the
        /// shards' `path` files (laid out as `layouts` say), ids counted again from 1 when `renumbered`, then the
        /// tail of the shards' own file (`ownTail`) or of the instances file. False when a shard's file does not
        /// hold what its parts say.
        func splice(_ path: String, to root: URL, layouts: [COCOWriter.Layout?], images: [[Int]], records counts: [[Int]],
                    renumbered: Bool, ownTail: Bool) throws -> Bool {
            guard let files = try WriteStage.shardFiles(shards, path: path, layouts: layouts) else { return false }
            defer { withExtendedLifetime(files) {} }
            var tail = list.tail
            if ownTail {
                guard let s = layouts.firstIndex(where: { $0 != nil }), let layout = layouts[s], let file = files[s] else { return false }
                tail = Array(file.bytes[layout.tailStart...])
            }
            let starts = counts.map(WriteStage.starts)
            return try records.write(to: root.appendingPathComponent(path), header: list.header, tail: tail,
                                     images: (images, WriteStage.imageRecords(instances, list: list, order: order)),
                                     annotations: (counts, { out, s, item, k, global in
                guard let layout = layouts[s], let file = files[s] else { return false }
                let range = layout.annotations.range(starts[s][item] + k)
                if renumbered { return WriteStage.appendRenumbered(file.bytes, range, id: global + 1, into: &out) }
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: file.bytes[range]))
                return true
            }))
        }
    }

    /// Where an image a shard wrote as `fileName` lies in its output folder.
    func imagePath(_ fileName: String) -> String {
        switch config.format {
        case .coco, .yolo: return "images/" + fileName
        case .voc: return "VOCdevkit/\(config.vocFolder)/JPEGImages/" + fileName
        }
    }

    /// The files of an item written as `fileName`: (in the shard's output, in the merged one, is the image).
    /// COCO's unit items move to their unsharded unit folder; VOC's and YOLO's paths do not depend on the unit.
    func itemFiles(_ fileName: String, unit: Int?) -> [(from: String, to: String, isImage: Bool)] {
        let stemPath = (fileName as NSString).deletingPathExtension
        switch config.format {
        case .coco:
            let to = unit.map { "images/\(Self.unitFolder($0))/" + URL(fileURLWithPath: fileName, isDirectory: false).lastPathComponent }
            return [(imagePath(fileName), to ?? imagePath(fileName), true)]
        case .voc:
            let xml = "VOCdevkit/\(config.vocFolder)/Annotations/" + stemPath + ".xml"
            return [(imagePath(fileName), imagePath(fileName), true), (xml, xml, false)]
        case .yolo:
            let labels = "labels/" + stemPath + ".txt"
            return [(imagePath(fileName), imagePath(fileName), true), (labels, labels, false)]
        }
    }

    /// Hard-links every item's files into the merged output (`images`: its images too).
    func link(_ shards: [SpliceInput], parts: [WriteSpliceParts], records: SpliceSequence, order: SpliceOrder, root: URL, images: Bool) throws {
        guard images || config.format != .coco else { return }  // COCO has no per-image file but the image
        let unsynced = AtomicFile.isUnsynced
        let sequence = records.sequence
        let chunks = max(1, min(AvailableCPUs.current.count * 4, sequence.count / 256))
        _ = try Support.parallelMap(count: chunks) { c in
            try AtomicFile.continuing(unsynced: unsynced) {
                for p in sequence.count * c / chunks ..< sequence.count * (c + 1) / chunks {
                    let (s, item) = sequence[p]
                    for file in itemFiles(parts[s].fileNames[item], unit: order.unit(shard: s, item: item)) where images || !file.isImage {
                        try AtomicFile.link(shards[s].output.appendingPathComponent(file.from, isDirectory: false).path,
                                            to: root.appendingPathComponent(file.to, isDirectory: false))
                    }
                }
            }
        }
    }

    /// With `include_references`, the references every shard wrote after its unit items, by image id (as
    /// `finalize` writes them).
    static func referenceSequence(_ parts: [WriteSpliceParts]) -> [(shard: Int, item: Int)] {
        var references: [(id: Int, shard: Int, item: Int)] = []
        for (s, part) in parts.enumerated() {
            for item in part.unitItems..<part.imageIds.count { references.append((part.imageIds[item], s, item)) }
        }
        return references.sorted { $0.id < $1.id }.map { ($0.shard, $0.item) }
    }

    // MARK: Records

    /// Appends each item's image record, moved to its unsharded unit folder (a reference's as it is).
    static func imageRecords(_ instances: [MappedFile], list: SplicedList, order: SpliceOrder) -> SpliceSequence.Emit {
        { out, s, item, _, _ in appendImageRecord(instances[s].bytes, list.imageRange(s, item), unit: order.unit(shard: s, item: item), into: &out) }
    }

    /// An image record with its `file_name`'s unit folder (`"file_name": "shard-NNNNN/`) replaced by `unit`'s
    /// (nil: a reference, written as it is); false when the record does not start as the COCO writer writes it.
    static func appendImageRecord(_ file: UnsafeRawBufferPointer, _ range: Range<Int>, unit: Int?, into out: inout [UInt8]) -> Bool {
        guard let unit else {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: file[range]))
            return true
        }
        let idKey = Array(#"{"id": "#.utf8), nameKey = Array(#", "file_name": "shard-"#.utf8)
        guard range.count > idKey.count, file[range.lowerBound..<(range.lowerBound + idKey.count)].elementsEqual(idKey) else { return false }
        var i = range.lowerBound + idKey.count
        while i < range.upperBound, file[i] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(file[i]) { i += 1 }
        guard range.upperBound - i > nameKey.count, file[i..<(i + nameKey.count)].elementsEqual(nameKey) else { return false }
        var j = i + nameKey.count
        while j < range.upperBound, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(file[j]) { j += 1 }
        guard j < range.upperBound, file[j] == UInt8(ascii: "/") else { return false }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: file[range.lowerBound..<(i + nameKey.count - "shard-".utf8.count)]))
        out.append(contentsOf: WriteStage.unitFolder(unit).utf8)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: file[j..<range.upperBound]))
        return true
    }

    /// A record `{"id": N, ...` with N replaced by `id`.
    static func appendRenumbered(_ file: UnsafeRawBufferPointer, _ range: Range<Int>, id: Int, into out: inout [UInt8]) -> Bool {
        let idKey = Array(#"{"id": "#.utf8)
        guard range.count > idKey.count, file[range.lowerBound..<(range.lowerBound + idKey.count)].elementsEqual(idKey) else { return false }
        var i = range.lowerBound + idKey.count
        while i < range.upperBound, file[i] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(file[i]) { i += 1 }
        out.append(contentsOf: idKey)
        out.append(contentsOf: String(id).utf8)
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: file[i..<range.upperBound]))
        return true
    }

    /// Each shard's file at `path` when its parts name a layout for it (else nil); nil when a file does not hold
    /// its layout.
    static func shardFiles(_ shards: [SpliceInput], path: String, layouts: [COCOWriter.Layout?]) throws -> [MappedFile?]? {
        let files = try Support.parallelMap(count: shards.count) { s in
            layouts[s] == nil ? nil : try contents(of: shards[s].output.appendingPathComponent(path))
        }
        for (layout, file) in zip(layouts, files) where !(layout.map { l in file.map { l.fits($0.bytes.count) } ?? false } ?? true) { return nil }
        return files
    }

    /// Exclusive prefix sums: the first record of each item.
    static func starts(_ counts: [Int]) -> [Int] {
        var starts = [Int](repeating: 0, count: counts.count)
        var total = 0
        for (k, n) in counts.enumerated() {
            starts[k] = total
            total += n
        }
        return starts
    }

    /// Whether no id occurs twice across the lists (what `finalize` checks; a splice that fails it is placed
    /// unit by unit, whose `finalize` names the id).
    static func idsAreUnique(_ lists: [[Int]]) -> Bool {
        var all = lists.flatMap { $0 }
        all.sort()
        for k in all.indices.dropFirst() where all[k] == all[k - 1] { return false }
        return true
    }

    static func contents(of url: URL) throws -> MappedFile { try MappedFile(url.path) }
}

extension SpliceOrder {
    /// The unsharded unit of a shard's output item; nil for the references `include_references` wrote after them.
    func unit(shard: Int, item: Int) -> Int? { item < units[shard].count ? units[shard][item] : nil }
}

extension WriteSpliceParts {
    /// One image record per item.
    var imageCountPerItem: [Int] { [Int](repeating: 1, count: imageIds.count) }
}

/// Where the records of the shards' instances files lie, and the header and tail they share.
struct SplicedList {
    let layouts: [COCOWriter.Layout]
    /// The header every shard wrote (`{`, info, licenses) and the tail after the annotations (categories).
    let header: [UInt8]
    let tail: [UInt8]

    /// nil when the shards' headers or tails differ (they loaded different sources).
    init?(files: [MappedFile], layouts: [COCOWriter.Layout]) {
        guard let first = files.first?.bytes, let layout = layouts.first, layout.fits(first.count) else { return nil }
        header = Array(first[..<layout.headerEnd])
        tail = Array(first[layout.tailStart...])
        for (file, l) in zip(files.map(\.bytes), layouts) {
            guard l.fits(file.count), file[..<l.headerEnd].elementsEqual(header), file[l.tailStart...].elementsEqual(tail) else { return nil }
        }
        self.layouts = layouts
    }

    func imageRange(_ shard: Int, _ item: Int) -> Range<Int> { layouts[shard].images.range(item) }
    func annotationRange(_ shard: Int, _ record: Int) -> Range<Int> { layouts[shard].annotations.range(record) }
}

/// The unsharded order of a sink's items, spliced into files on all cores: a few chunks of the order at a time are
/// built into buffers that are used again, and written in order, so no buffer holds a whole file.
struct SpliceSequence {
    /// (shard, item) in the order the records are written.
    let sequence: [(shard: Int, item: Int)]

    /// Appends one record (after its separator) to `out`: (out, shard, item, k, global), k the record's index
    /// within its item, global among all records of the list; false refuses it.
    typealias Emit = @Sendable (inout [UInt8], Int, Int, Int, Int) -> Bool

    struct Refused: Error {}

    /// Writes `file`: `header`, `"images": [`, the image records, `]`, `,\n"annotations": [`, the annotation
    /// records, `]`, `tail`; each list has `counts[shard][item]` records per item, in order. False (and no
    /// file) when a record is refused.
    func write(to file: URL, header: [UInt8], tail: [UInt8], images: ([[Int]], Emit), annotations: ([[Int]], Emit)) throws -> Bool {
        do {
            try AtomicFile.write(streamingTo: file) { write in
                try write(header + Array("\"images\": [".utf8))
                let imageRecords = try list(counts: images.0, emit: images.1, write: write)
                try write(Array(((imageRecords == 0 ? "]" : "\n]") + ",\n\"annotations\": [").utf8))
                let annotationRecords = try list(counts: annotations.0, emit: annotations.1, write: write)
                try write(Array((annotationRecords == 0 ? "]" : "\n]").utf8) + tail)
            }
            return true
        } catch is Refused {
            return false
        }
    }

    /// For each item in order, `counts[shard][item]` records, each after its separator (`\n` before the first
    /// record, `,\n` before the others), passed to `write` in order. Returns how many records.
    func list(counts: [[Int]], emit: Emit, write: ([UInt8]) throws -> Void) throws -> Int {
        let chunkCount = max(1, min(1_024, sequence.count / 500))
        var firstRecord = [Int](repeating: 0, count: chunkCount + 1)
        for c in 0..<chunkCount {
            var n = 0
            for p in sequence.count * c / chunkCount ..< sequence.count * (c + 1) / chunkCount {
                let (s, item) = sequence[p]
                n += counts[s][item]
            }
            firstRecord[c + 1] = firstRecord[c] + n
        }
        let starts = firstRecord
        let width = AvailableCPUs.current.count
        var buffers = [[UInt8]](repeating: [], count: width)
        for wave in stride(from: 0, to: chunkCount, by: width) {
            let n = min(width, chunkCount - wave)
            let built = buffers.withUnsafeMutableBufferPointer { b -> [Bool] in
                let slots = DisjointSlots(b)
                return (try? Support.parallelMap(count: n) { i -> Bool in
                    var out = slots[i]
                    slots[i] = []  // `out` is the only owner: appending does not copy
                    out.removeAll(keepingCapacity: true)
                    defer { slots[i] = out }
                    let c = wave + i
                    var global = starts[c]
                    for p in sequence.count * c / chunkCount ..< sequence.count * (c + 1) / chunkCount {
                        let (s, item) = sequence[p]
                        for k in 0..<counts[s][item] {
                            if global == 0 { out.append(10) } else { out.append(44); out.append(10) }
                            guard emit(&out, s, item, k, global) else { return false }
                            global += 1
                        }
                    }
                    return true
                }) ?? [false]
            }
            guard built.allSatisfy({ $0 }) else { throw Refused() }
            for i in 0..<n { try write(buffers[i]) }
        }
        return firstRecord[chunkCount]
    }
}
