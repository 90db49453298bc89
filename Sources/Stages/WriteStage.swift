import Foundation
import Datasets
import Imaging
import Support
import Statistics
import Pipeline

public struct WriteConfig: StageConfig, Equatable {
    public enum Format: String, ConfigEnum { case coco, voc, yolo }
    public enum ImageMode: String, ConfigEnum {
        /// Keep the source JPEG bytes (after checking they decode); non-RGB JPEGs are converted.
        case copy
        /// Decode and encode every image at `jpeg_quality`.
        case reencode
    }

    public var format: Format = .coco
    /// The dataset's name: `annotations/instances_<name>.json`, statistics headings. Default: the stage id.
    public var name: String?
    public var images: ImageMode = .copy
    public var jpegQuality: Int = 95
    /// Write `annotations/captions_<name>.json` when the items have captions (COCO format only).
    public var captions: Bool = true
    /// VOC format: the year folder under VOCdevkit and the ImageSets/Main split name.
    public var vocFolder: String = "VOC2007"
    public var vocSplit: String = "trainval"
    /// For generated items: also write the reference images they were made from, with their annotations (a
    /// ready "real + DE" training set in one dataset; references go to `images/references/` or the devkit).
    public var includeReferences: Bool = false
    /// COCO: the `segmentation` of an annotation without one of its own (generated labels, VOC boxes): `box`
    /// (the box as a polygon, what pycocotools' mask functions and torchvision's wrapper need), `empty` (`[]`)
    /// or `none` (no key). A source's own segmentation is always written as it was.
    public var segmentation: COCOWriter.SegmentationFill = .box

    public init() {}

    enum CodingKeys: String, CodingKey {
        case format, name, images, jpegQuality = "jpeg_quality", captions, vocFolder = "voc_folder", vocSplit = "voc_split"
        case includeReferences = "include_references", segmentation
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        try c.decodeIfPresent(.format, into: &format)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        try c.decodeIfPresent(.images, into: &images)
        try c.decodeIfPresent(.jpegQuality, into: &jpegQuality)
        try c.decodeIfPresent(.captions, into: &captions)
        try c.decodeIfPresent(.includeReferences, into: &includeReferences)
        try c.decodeIfPresent(.vocFolder, into: &vocFolder)
        try c.decodeIfPresent(.vocSplit, into: &vocSplit)
        if let text = try c.decodeIfPresent(String.self, forKey: .segmentation) {
            guard let fill = COCOWriter.SegmentationFill(rawValue: text) else {
                throw DecodingError.dataCorruptedError(forKey: .segmentation, in: c, debugDescription:
                    "segmentation is box (the box as a polygon, the default), empty ([]) or none (no key), not \"\(text)\"")
            }
            segmentation = fill
        }
        guard (1...100).contains(jpegQuality) else {
            throw DecodingError.dataCorruptedError(forKey: .jpegQuality, in: c, debugDescription: "jpeg_quality is 1...100 (95 is the default)")
        }
        if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "name becomes part of file names: use letters, digits, - and _")
        }
        for (key, value) in [(CodingKeys.vocFolder, vocFolder), (.vocSplit, vocSplit)] where VOCWriter.plainNameRefusal(value) != nil {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription:
                "\(key.stringValue) \"\(value)\" becomes a folder or file name: a plain name such as VOC2007 or trainval (no /, whitespace, leading dot)")
        }
    }
}

/// Writes items as a COCO dataset (`images/shard-NNNNN/…`, one annotation file per shard while the run goes on,
/// then the merged `annotations/instances_<name>.json` in their place), a VOCdevkit, or a YOLO dataset (ultralytics: `images/`, `labels/`,
/// then `data.yaml`), plus statistics against the reference. One unit is one shard; a shard's images and its
/// annotation or label files are written before the unit is committed.
public final class WriteStage: SinkStage {
    public let config: WriteConfig

    public init(config: WriteConfig) { self.config = config }

    func datasetName(_ context: StageContext) -> String { config.name ?? context.stageId }

    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        let root = try outputRoot(context)
        var out = UnitOutput()
        var seenNames = Set<String>()
        var sidecars = Sidecars(categories: context.meta.categories)
        for var item in input.items {
            if context.isCancelled() { throw CancellationError() }
            let (baseName, renamed) = outputStem(item.image)
            let fileName = baseName + ".jpg"
            guard seenNames.insert(fileName).inserted else {
                throw StageError(stage: context.stageId, message: "two images in \(Self.unitFolder(context.unitIndex)) are both named \(fileName) (\(item.label))",
                                 hint: "image file names must be unique within a dataset")
            }
            guard let bytes = readImage(item, into: &out) else { continue }
            let (relative, destination) = place(fileName, unit: context.unitIndex, root: root)
            try AtomicFile.write(bytes, to: destination)
            if renamed {
                out.count("images-renamed")
                out.issues.append(renameIssue(item.image, writtenAs: fileName))
            }
            item.image.fileName = relative
            item.sourcePath = destination.path
            try sidecars.write(for: item, stem: baseName, root: root, stage: self, context: context)
            out.items.append(item)
        }
        try finishUnit(&out, sidecars: sidecars, root: root, context: context)
        return out
    }

    /// Places a unit that `process` wrote in a shard's output as unit `context.unitIndex` here: images are
    /// hard-linked (copied across devices), annotation files written as `process` writes them.
    public func relocate(_ output: UnitOutput, context: StageContext) throws -> UnitOutput {
        try relocate(output, context: context, linkingImages: true)
    }

    /// `relocate`; without `linkingImages` the image files are left out (`bench merge`: images excluded).
    public func relocate(_ output: UnitOutput, context: StageContext, linkingImages: Bool) throws -> UnitOutput {
        let root = try outputRoot(context)
        var out = UnitOutput(dropped: output.dropped, counters: [:], issues: output.issues)
        var sidecars = Sidecars(categories: context.meta.categories)
        for var item in output.items {
            let fileName = URL(fileURLWithPath: item.image.fileName, isDirectory: false).lastPathComponent
            let stem = URL(fileURLWithPath: fileName, isDirectory: false).deletingPathExtension().lastPathComponent
            let (relative, destination) = place(fileName, unit: context.unitIndex, root: root)
            if linkingImages { try AtomicFile.link(item.sourcePath, to: destination) }
            item.image.fileName = relative
            item.sourcePath = destination.path
            try sidecars.write(for: item, stem: stem, root: root, stage: self, context: context)
            out.items.append(item)
        }
        out.count("images-renamed", output.counters["images-renamed"] ?? 0)
        out.count("images-converted-to-rgb", output.counters["images-converted-to-rgb"] ?? 0)
        try finishUnit(&out, sidecars: sidecars, root: root, context: context)
        return out
    }

    public func outputRoot(_ context: StageContext) throws -> URL {
        guard let root = context.outputDirectory else {
            throw StageError(stage: context.stageId, message: "no output folder was given to the write stage")
        }
        return root
    }

    /// COCO's image folder of a unit: `shard-00003`.
    public static func unitFolder(_ unit: Int) -> String {
        let digits = String(unit)  // String(format:) costs more than the rest of placing an image
        return "shard-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// Where an image of a unit goes: its `file_name` in the written dataset and its path.
    public func place(_ fileName: String, unit: Int, root: URL) -> (relative: String, destination: URL) {
        switch config.format {
        case .coco:
            let relative = "\(Self.unitFolder(unit))/\(fileName)"
            return (relative, root.appendingPathComponent("images/\(relative)", isDirectory: false))
        case .voc:
            return (fileName, root.appendingPathComponent("VOCdevkit/\(config.vocFolder)/JPEGImages/\(fileName)", isDirectory: false))
        case .yolo:
            return (fileName, root.appendingPathComponent("images/\(fileName)", isDirectory: false))
        }
    }

    /// The per-image annotation files of VOC (`Annotations/<stem>.xml`) and YOLO (`labels/<stem>.txt`), and the
    /// boxes YOLO could not hold.
    public struct Sidecars {
        var classes: [Int: Int]
        var omitted = YOLOWriter.Omitted()

        public init(categories: [Category]) { classes = YOLOWriter.classIndices(categories) }

        public mutating func write(for item: DatasetItem, stem: String, root: URL, stage: WriteStage, context: StageContext) throws {
            switch stage.config.format {
            case .coco:
                return
            case .voc:
                let xml = VOCWriter.annotationXML(for: item.image, annotations: item.annotations,
                                                  categories: context.meta.categories, folder: stage.config.vocFolder)
                try AtomicFile.write(xml, to: root.appendingPathComponent("VOCdevkit/\(stage.config.vocFolder)/Annotations/\(stem).xml", isDirectory: false))
            case .yolo:
                let left = try YOLOWriter.writeLabels(for: item.image, annotations: item.annotations, classes: classes,
                                                      to: root.appendingPathComponent("labels/\(stem).txt", isDirectory: false))
                omitted.crowd += left.crowd
                omitted.outsideImage += left.outsideImage
                omitted.unknownCategory += left.unknownCategory
            }
        }
    }

    /// The unit's counts and, for COCO, its annotation file `annotations/shards/shard-NNNNN.json`.
    public func finishUnit(_ out: inout UnitOutput, sidecars: Sidecars, root: URL, context: StageContext) throws {
        let omitted = sidecars.omitted
        out.count("boxes-not-written-crowd", omitted.crowd)
        out.count("boxes-not-written-outside-image", omitted.outsideImage)
        out.count("boxes-not-written-unknown-category", omitted.unknownCategory)
        if config.format == .coco {
            let shardFile = root.appendingPathComponent("annotations/shards/\(Self.unitFolder(context.unitIndex)).json", isDirectory: false)
            try COCOWriter.write(dataset(of: out.items, context: context), to: shardFile, segmentation: config.segmentation)
        }
        out.count("images-written", out.items.count)
        out.count("boxes-written", out.items.reduce(0) { $0 + $1.annotations.count } - omitted.crowd - omitted.outsideImage - omitted.unknownCategory)
    }

    /// The bytes to write for an item, or nil (dropped and counted) when its image is missing or corrupt.
    func readImage(_ item: DatasetItem, into out: inout UnitOutput) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: item.sourcePath) else {
            out.drop(item, reason: "missing-image", message: "cannot read \(item.sourcePath)")
            out.issues.append(LoadIssue(kind: .missingImage, file: item.sourcePath, record: item.label, message: "cannot read the image file; skipped"))
            return nil
        }
        let bytes = [UInt8](data)
        let decoded: DecodedJPEG
        do {
            decoded = try JPEG.decode(bytes, strict: true)
        } catch {
            out.drop(item, reason: "corrupt-image", message: "\(error)")
            out.issues.append(LoadIssue(kind: .corruptImage, file: item.sourcePath, record: item.label, message: "\(error); skipped"))
            return nil
        }
        if decoded.image.width != item.image.width || decoded.image.height != item.image.height {
            let message = "the JPEG is \(decoded.image.width)x\(decoded.image.height) but the annotations say \(item.image.width)x\(item.image.height); skipped because its boxes may not fit"
            out.drop(item, reason: "size-mismatch", message: message)
            out.issues.append(LoadIssue(kind: .sizeMismatch, file: item.sourcePath, record: item.label, message: message))
            return nil
        }
        let needsConversion = ![.rgb, .ycbcr].contains(decoded.sourceColorSpace)
        if needsConversion || config.images == .reencode {
            do {
                let encoded = try JPEG.encode(decoded.image, quality: config.jpegQuality)
                if needsConversion {
                    out.count("images-converted-to-rgb")
                    out.issues.append(LoadIssue(kind: .convertedImage, file: item.sourcePath, record: item.label,
                                                message: "\(decoded.sourceColorSpace) JPEG converted to RGB"))
                }
                return encoded
            } catch {
                out.drop(item, reason: "corrupt-image", message: "re-encoding failed: \(error)")
                return nil
            }
        }
        return bytes
    }

    func dataset(of items: [DatasetItem], context: StageContext) -> DetectionDataset {
        DetectionDataset(info: context.meta.info, licenses: context.meta.licenses, images: items.map(\.image),
                         annotations: items.flatMap(\.annotations), categories: context.meta.categories)
    }

    public func finalize(_ units: [UnitOutput], reference: [UnitOutput], context: StageContext) throws -> SinkSummary {
        guard let root = context.outputDirectory else {
            throw StageError(stage: context.stageId, message: "no output folder was given to the write stage")
        }
        var items = units.flatMap(\.items)
        var problems: [String] = []
        var renames = units.flatMap(\.issues).filter { $0.kind == .renamedImage }
        var references = 0
        if config.includeReferences {
            let written = try writeReferences(of: items, root: root, context: context, problems: &problems, renames: &renames)
            items += written
            references = written.count
        }
        try checkUniqueIds(items, context: context)
        let name = datasetName(context)
        var outputs: [String: String] = [:]
        var written = dataset(of: items, context: context)
        let referenceItems = reference.flatMap(\.items)
        let tallies = BackgroundValue { [written] in
            (DatasetTally(written), DatasetTally(DetectionDataset(images: referenceItems.map(\.image), annotations: referenceItems.flatMap(\.annotations),
                                                                  categories: context.meta.categories)))
        }
        var layouts: (instances: COCOWriter.Layout?, captions: COCOWriter.Layout?, referenceBoxes: COCOWriter.Layout?)
        switch config.format {
        case .coco:
            let instances = root.appendingPathComponent("annotations/instances_\(name).json")
            layouts.instances = try writeInstances(written, to: instances)
            // The per-unit annotation files are for reading a run in progress; the finished dataset has the merged file.
            try? FileManager.default.removeItem(at: root.appendingPathComponent("annotations/shards"))
            outputs["annotations"] = instances.path
            outputs["images"] = root.appendingPathComponent("images").path
            var captionId = 0
            let captions = items.flatMap { item in item.captions.map { text -> Caption in
                captionId += 1
                return Caption(id: captionId, imageId: item.image.id, text: text)
            } }
            if config.captions && !captions.isEmpty {
                written.captions = captions
                let file = root.appendingPathComponent("annotations/captions_\(name).json")
                let (bytes, layout) = try COCOWriter.encodeCaptionsWithLayout(written, file: file.path)
                try AtomicFile.write(bytes, to: file)
                layouts.captions = layout
                outputs["captions"] = file.path
            }
        case .voc, .yolo:
            try writeDatasetIndex(fileNames: items.map(\.image.fileName), root: root, context: context, outputs: &outputs)
        }
        if !renames.isEmpty {
            let file = root.appendingPathComponent("renamed_images.json")
            try AtomicFile.write(Self.renameMapping(renames), to: file)
            outputs["renamed_images"] = file.path
        }
        layouts.referenceBoxes = try writeGenerationExtras(items, referenceItems: referenceItems, root: root, name: name, context: context, outputs: &outputs)
        let (tally, referenceTally) = try tallies.value
        try statistics(tally, reference: referenceTally, context: context).write(to: root)
        outputs["statistics"] = root.appendingPathComponent("stats.md").path
        if let folder = context.spliceDirectory {
            try WriteSpliceParts(items: items, referenceItems: referenceItems, instances: layouts.instances, captions: layouts.captions,
                                referenceBoxes: layouts.referenceBoxes, tally: tally, referenceTally: referenceTally, renamed: renames.count,
                                references: references, problems: problems.count)
                .write(to: WriteSpliceParts.file(in: folder))
        }
        return SinkSummary(outputs: outputs, images: written.images.count, annotations: written.annotations.count,
                           problems: problems.isEmpty ? nil : problems)
    }

    /// The references of generated items, each once (lowest id first), written beside them: COCO
    /// `images/references/<file>`, VOC the devkit's folders. A reference that can no longer be read is left out
    /// and named in `problems` (the run report lists them).
    func writeReferences(of items: [DatasetItem], root: URL, context: StageContext, problems: inout [String],
                         renames: inout [LoadIssue]) throws -> [DatasetItem] {
        var seen = Set<Int>()
        let references = items.compactMap(\.reference).filter { seen.insert($0.image.id).inserted }.sorted { $0.image.id < $1.image.id }
        var written: [DatasetItem] = []
        var scratch = UnitOutput()
        for snapshot in references {
            var item = snapshot.item
            guard let bytes = readImage(item, into: &scratch) else { continue }
            let (stem, renamed) = outputStem(item.image)
            if renamed { renames.append(renameIssue(item.image, writtenAs: stem + ".jpg")) }
            switch config.format {
            case .coco:
                item.image.fileName = "references/\(stem).jpg"
                try AtomicFile.write(bytes, to: root.appendingPathComponent("images").appendingPathComponent(item.image.fileName))
            case .voc:
                item.image.fileName = "\(stem).jpg"
                try AtomicFile.write(bytes, to: root.appendingPathComponent("VOCdevkit/\(config.vocFolder)/JPEGImages/\(stem).jpg"))
                let xml = VOCWriter.annotationXML(for: item.image, annotations: item.annotations, categories: context.meta.categories, folder: config.vocFolder)
                try AtomicFile.write(xml, to: root.appendingPathComponent("VOCdevkit/\(config.vocFolder)/Annotations/\(stem).xml"))
            case .yolo:
                item.image.fileName = "references/\(stem).jpg"
                try AtomicFile.write(bytes, to: root.appendingPathComponent("images").appendingPathComponent(item.image.fileName))
                _ = try YOLOWriter.writeLabels(for: item.image, annotations: item.annotations, classes: YOLOWriter.classIndices(context.meta.categories),
                                               to: root.appendingPathComponent("labels/references/\(stem).txt"))
            }
            written.append(item)
        }
        problems += scratch.issues.map { "reference \($0.record) not included: \($0.file): \($0.message)" }
        return written
    }

    /// What spans a VOC or YOLO dataset of the images written as `fileNames`, in order: VOC's image sets and
    /// label map, YOLO's `data.yaml`.
    func writeDatasetIndex(fileNames: [String], root: URL, context: StageContext, outputs: inout [String: String]) throws {
        switch config.format {
        case .coco:
            return
        case .voc:
            let stems = fileNames.map { URL(fileURLWithPath: $0, isDirectory: false).deletingPathExtension().lastPathComponent }
            let year = root.appendingPathComponent("VOCdevkit/\(config.vocFolder)")
            try VOCWriter.writeImageSets(stems: stems, to: year.appendingPathComponent("ImageSets/Main"), split: config.vocSplit)
            try VOCWriter.writeLabelMap(categories: context.meta.categories, to: year.appendingPathComponent("labelmap.txt"))
            outputs["devkit"] = root.appendingPathComponent("VOCdevkit").path
        case .yolo:
            try YOLOWriter.writeDataYAML(root: root, categories: context.meta.categories)
            outputs["data_yaml"] = root.appendingPathComponent("data.yaml").path
            outputs["images"] = root.appendingPathComponent("images").path
        }
    }

    /// The written dataset's statistics against its reference (the run's source), from their tallies.
    func statistics(_ tally: DatasetTally, reference: DatasetTally, context: StageContext) -> DatasetStatistics {
        DatasetStatistics(tally: tally, categories: context.meta.categories, name: datasetName(context),
                          reference: (reference, context.meta.categories), referenceName: context.meta.name)
    }

    /// Writes the instances file; returns where its records lie.
    func writeInstances(_ dataset: DetectionDataset, to file: URL) throws -> COCOWriter.Layout {
        let (bytes, layout) = try COCOWriter.encodeWithLayout(dataset, file: file.path, segmentation: config.segmentation)
        try AtomicFile.write(bytes, to: file)
        return layout
    }

    /// For generated items: the reference boxes moved into each generated image's frame
    /// (`annotations/reference_boxes_<name>.json`, COCO; the ground truth for checking label fidelity with
    /// `dataengine eval`) and `preview.jpg`. Returns where the reference boxes file's records lie.
    @discardableResult
    func writeGenerationExtras(_ items: [DatasetItem], referenceItems: [DatasetItem], root: URL, name: String,
                               context: StageContext, outputs: inout [String: String]) throws -> COCOWriter.Layout? {
        let generated = items.filter { $0.image.provenance != nil }
        guard !generated.isEmpty else { return nil }
        var layout: COCOWriter.Layout?
        if config.format == .coco {
            let boxes = DetectionDataset(info: context.meta.info, licenses: context.meta.licenses, images: generated.map(\.image),
                                         annotations: generated.flatMap { item in (item.referenceAnnotations ?? []).map { a in
                                             var a = a
                                             a.score = nil
                                             return a
                                         } },
                                         categories: context.meta.categories)
            let file = root.appendingPathComponent("annotations/reference_boxes_\(name).json")
            layout = try writeInstances(boxes, to: file)
            outputs["reference_boxes"] = file.path
        }
        try writePreview(generated: items, references: referenceItems, root: root, context: context, outputs: &outputs)
        return layout
    }

    /// `preview.jpg`, when an item is generated.
    func writePreview(generated: [DatasetItem], references: [DatasetItem], root: URL, context: StageContext, outputs: inout [String: String]) throws {
        if let sheet = GenerationPreview.render(generated: generated, references: references, categories: context.meta.categories) {
            let file = root.appendingPathComponent("preview.jpg")
            try AtomicFile.write(try JPEG.encode(sheet, quality: 90), to: file)
            outputs["preview"] = file.path
        }
    }

    /// The stem an image is written under (`<stem>.jpg`, VOC's `<stem>.xml`, YOLO's `<stem>.txt`): its file
    /// name's last component without the extension. A stem the format cannot hold is replaced by the image id,
    /// and `renamed` is true; the run counts it (`images-renamed`) and `renamed_images.json` records the mapping.
    /// VOC cannot hold whitespace, control characters, hidden or empty stems (`VOCWriter.stemRefusal`); YOLO
    /// hidden, empty or control characters (`YOLOWriter.stemRefusal`); COCO keeps every name.
    func outputStem(_ image: ImageInfo) -> (stem: String, renamed: Bool) {
        let stem = URL(fileURLWithPath: image.fileName, isDirectory: false).deletingPathExtension().lastPathComponent
        let refusal: String? = switch config.format {
        case .coco: nil
        case .voc: VOCWriter.stemRefusal(stem)
        case .yolo: YOLOWriter.stemRefusal(stem)
        }
        return refusal == nil ? (stem, false) : (String(image.id), true)
    }

    /// The record of one renamed image: `file` is its own name, `record` "image <id>".
    func renameIssue(_ image: ImageInfo, writtenAs name: String) -> LoadIssue {
        LoadIssue(kind: .renamedImage, file: image.fileName, record: "image \(image.id)",
                  message: "written as \(name): \(config.format.rawValue.uppercased()) cannot hold the name (\(config.format == .yolo ? "hidden, empty or a control character" : "whitespace, a control character, hidden or empty"))")
    }

    /// `renamed_images.json`: `[{"image_id", "file_name" (its own name), "written_as"}, ...]` by image id, one
    /// record per line.
    static func renameMapping(_ renames: [LoadIssue]) -> [UInt8] {
        let rows = renames.map { issue -> (id: Int, name: String, written: String) in
            let id = Int(issue.record.dropFirst("image ".count)) ?? 0
            let written = issue.message.hasPrefix("written as ") ? String(issue.message.dropFirst("written as ".count).prefix { $0 != ":" }) : ""
            return (id, issue.file, written)
        }.sorted { ($0.id, $0.name) < ($1.id, $1.name) }
        var out = JSONEmitter(capacity: 80 * rows.count + 4)
        out.raw("[")
        for (k, row) in rows.enumerated() {
            out.raw(k == 0 ? "\n{\"image_id\": " : ",\n{\"image_id\": ")
            out.int(row.id)
            out.raw(", \"file_name\": ")
            out.string(row.name)
            out.raw(", \"written_as\": ")
            out.string(row.written)
            out.raw("}")
        }
        out.raw(rows.isEmpty ? "]\n" : "\n]\n")
        return out.bytes
    }

    /// What `validate` and the start of a run check, so a run never fails in its last step: output images are
    /// named by their file name without folders, so two source images with the same stem would overwrite each
    /// other (VOC: after the id fallback); VOC names classes by name, so category names must be ones VOC and
    /// `labelmap.txt` can hold, and distinct. Notes how many images VOC will write under their id.
    public func checkBeforeRun(_ source: SourceOutput, context: StageContext) throws -> [String] {
        var owner: [String: DatasetItem] = [:]
        var renamed: [DatasetItem] = []
        for item in source.items {
            let (stem, wasRenamed) = outputStem(item.image)
            if wasRenamed { renamed.append(item) }
            if let other = owner[stem] {
                throw StageError(stage: context.stageId,
                                 message: "\(other.label) and \(item.label) would both be written as \(stem).jpg: the \(config.format.rawValue.uppercased()) output names images by their file name without folders"
                                    + (wasRenamed || outputStem(other.image).renamed ? " (a name the format cannot hold is replaced by the image id)" : ""),
                                 hint: "rename one of the two image files and its file_name in the source, so every image's name without folders and extension is unique")
            }
            owner[stem] = item
        }
        if config.format == .voc {
            var byName: [String: Category] = [:]
            for category in context.meta.categories.sorted(by: { $0.id < $1.id }) {
                if let why = VOCWriter.classNameRefusal(category.name) {
                    throw StageError(stage: context.stageId, message: "category id \(category.id): the name \"\(category.name)\" \(why)",
                                     hint: "VOC names classes by name: rename the category in the source, or write COCO")
                }
                if let other = byName[category.name] {
                    throw StageError(stage: context.stageId,
                                     message: "categories \(other.id) and \(category.id) are both named \"\(category.name)\": VOC names classes by name, so their boxes would merge",
                                     hint: "give the categories distinct names in the source, or write COCO")
                }
                byName[category.name] = category
            }
        }
        guard let first = renamed.first else { return [] }
        return ["\(renamed.count) image name\(renamed.count == 1 ? "" : "s") \(config.format.rawValue.uppercased()) cannot hold "
                + "will be written under the image id, e.g. \(first.image.fileName) as \(first.image.id).jpg; renamed_images.json records the mapping"]
    }

    func checkUniqueIds(_ items: [DatasetItem], context: StageContext) throws {
        var images = Set<Int>(), annotations = Set<Int>()
        for item in items {
            guard images.insert(item.image.id).inserted else {
                throw StageError(stage: context.stageId, message: "image id \(item.image.id) occurs twice in the output (\(item.image.fileName))",
                                 hint: "two branches feeding one write stage must not carry the same images")
            }
            for a in item.annotations where !annotations.insert(a.id).inserted {
                throw StageError(stage: context.stageId, message: "annotation id \(a.id) occurs twice in the output (\(item.label))")
            }
        }
    }
}

