import ArgumentParser
import Foundation
import Datasets
import Statistics

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Statistics of a COCO or VOC dataset: tables, CSV and an SVG chart.",
        discussion: """
            DATASET is a COCO instances JSON file or a VOCdevkit folder. Writes stats.md, stats.json, \
            stats.csv and stats.svg (per-category bar chart) into --out and prints stats.md. With \
            --reference, the tables compare the two (the DiffusionEngine paper's Table 1 layout).

            Examples:
              dataengine stats data/demo/coco/annotations/instances_train.json
              dataengine stats data/demo/VOCdevkit --split VOC2007/trainval \\
                --classes circle,square,triangle,star,ring
              dataengine stats \\
                runs/demo/output/demo_de/annotations/instances_demo_de.json \\
                --reference data/demo/coco/annotations/instances_train.json \\
                --out stats/demo
            """)

    @Argument(help: "A COCO instances JSON file, or a VOCdevkit folder.")
    var dataset: String

    @Option(help: "A dataset to compare with (same kinds of path as DATASET).")
    var reference: String?

    @Option(name: .customLong("split"), help: "VOC splits such as VOC2007/trainval (repeatable; default VOC2007/trainval).")
    var splits: [String] = []

    @Option(help: "VOC class names, comma-separated, in category id order (default: VOC's 20 classes).")
    var classes: String?

    @Option(help: "Where to write the statistics files (default: stats/<dataset name>).")
    var out: String?

    @Option(help: "The dataset's name in the tables (default: from the path).")
    var name: String?

    func run() throws {
        let data = try load(dataset)
        if data.images.isEmpty {
            let problems = data.issues.prefix(3).map { "\($0.file): \($0.message)" }.joined(separator: "; ")
            throw DatasetError(file: dataset, message: "no readable images" + (data.issues.isEmpty ? "" : " (\(data.issues.count) problem(s), e.g. \(problems))"),
                               hint: "check the path, --splits and --classes; `dataengine validate` on a pipeline that reads it lists every problem")
        }
        let ref = try reference.map(load)
        let displayName = name ?? Self.name(of: dataset)
        let stats = DatasetStatistics(dataset: data, name: displayName, reference: ref, referenceName: reference.map(Self.name(of:)))
        let folder = URL(fileURLWithPath: out ?? "stats/\(displayName)")
        try stats.write(to: folder)
        if let markdown = FileManager.default.contents(atPath: folder.appendingPathComponent("stats.md").path) {
            print(String(decoding: markdown, as: UTF8.self))
        }
        if !data.issues.isEmpty { FileHandle.standardError.write(Data("\(data.issues.count) input problem(s) were skipped or fixed while reading \(dataset)\n".utf8)) }
        FileHandle.standardError.write(Data("wrote stats.md, stats.json, stats.csv, stats.svg to \(folder.path)\n".utf8))
    }

    func load(_ path: String) throws -> DetectionDataset {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ValidationError("\(path) does not exist: give a COCO instances JSON file or a VOCdevkit folder")
        }
        if isDir.boolValue {
            let classList = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? VOCReader.defaultClasses
            return try VOCReader.load(devkit: URL(fileURLWithPath: path), splits: splits.isEmpty ? ["VOC2007/trainval"] : splits, classes: classList)
        }
        return try COCOReader.load(instances: URL(fileURLWithPath: path))
    }

    static func name(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        return stem.hasPrefix("instances_") ? String(stem.dropFirst("instances_".count)) : stem
    }
}
