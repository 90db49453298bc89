import ArgumentParser
import Datasets
import Foundation
import Support

/// `dataengine bench load`: how fast and how lean COCOReader loads a train2017-scale instances file.
struct BenchLoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Measure COCO instances loading: wall time and peak memory.",
        discussion: """
        Generates a deterministic synthetic COCO instances file (train2017 scale by default: 118,287 images, \
        860,001 annotations, about 470 MB = 448 MiB) in a temporary directory, or uses --file, then times \
        COCOReader.load on it and reads the process's peak resident memory (VmHWM in /proc/self/status, \
        reset just before the load where the kernel allows it). Prints the file size, seconds, images per \
        second, the resident memory before the load, the peak, and the peak divided by the file size.

        tools/bench_load.sh runs this and pycocotools on the same file and prints both side by side.

        Examples:
          dataengine bench load
          dataengine bench load --images 5000 --annotations 36000 \\
            --keep /tmp/bench --json
          dataengine bench load --file annotations/instances_train2017.json
        """)

    @Option(help: "Images in the generated file.")
    var images = 118_287

    @Option(help: "Annotations in the generated file.")
    var annotations = 860_001

    @Option(help: "Seed of the generated file.")
    var seed: UInt64 = 2017

    @Option(help: ArgumentHelp("Keep the generated file in this directory (as instances_synthetic.json).", valueName: "dir"))
    var keep: String?

    @Option(help: ArgumentHelp("Load this existing instances file instead of generating one.", valueName: "path"))
    var file: String?

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    func validate() throws {
        guard images >= 1 else { throw ValidationError("--images must be at least 1") }
        guard annotations >= 0 else { throw ValidationError("--annotations must not be negative") }
        if file != nil && keep != nil { throw ValidationError("--keep applies to a generated file; with --file nothing is generated") }
    }

    struct Result: Codable {
        var file: String
        var generated: Bool
        var fileBytes: Int
        var images: Int
        var annotations: Int
        var categories: Int
        var issues: Int
        var seconds: Double
        var imagesPerSecond: Double
        var rssBeforeBytes: Int
        var peakRSSBytes: Int
        var peakRSSOverFileSize: Double
        /// False when /proc/self/clear_refs could not reset the peak: it then covers the generation too.
        var peakResetBeforeLoad: Bool

        enum CodingKeys: String, CodingKey {
            case file, generated, images, annotations, categories, issues, seconds
            case fileBytes = "file_bytes", imagesPerSecond = "images_per_second", rssBeforeBytes = "rss_before_bytes"
            case peakRSSBytes = "peak_rss_bytes", peakRSSOverFileSize = "peak_rss_over_file_size"
            case peakResetBeforeLoad = "peak_reset_before_load"
        }
    }

    func run() throws {
        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }

        let url: URL
        if let file {
            url = URL(fileURLWithPath: file)
        } else {
            let dir: URL
            if let keep {
                dir = URL(fileURLWithPath: keep)
            } else {
                dir = FileManager.default.temporaryDirectory.appendingPathComponent("dataengine-bench-\(getpid())")
                temporary = dir
            }
            url = dir.appendingPathComponent("instances_synthetic.json")
            if !json { print("generating \(images) images, \(annotations) annotations -> \(url.path)") }
            let start = Date()
            let summary = try SyntheticCOCO.write(SyntheticCOCO.Parameters(images: images, annotations: annotations, seed: seed), to: url)
            if !json { print(String(format: "generated %@ in %.1f s", Self.megabytes(summary.bytes), Date().timeIntervalSince(start))) }
        }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0

        let rssBefore = ProcessMemory.resident ?? 0
        let reset = Self.resetPeakRSS()
        let start = DispatchTime.now().uptimeNanoseconds
        let dataset = try COCOReader.load(instances: url)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let peak = ProcessMemory.peakResident ?? 0

        let result = Result(file: url.path, generated: file == nil, fileBytes: fileBytes, images: dataset.images.count,
                            annotations: dataset.annotations.count, categories: dataset.categories.count, issues: dataset.issues.count,
                            seconds: seconds, imagesPerSecond: Double(dataset.images.count) / seconds,
                            rssBeforeBytes: rssBefore, peakRSSBytes: peak,
                            peakRSSOverFileSize: fileBytes > 0 ? Double(peak) / Double(fileBytes) : 0, peakResetBeforeLoad: reset)
        withExtendedLifetime(dataset) {}

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print("file:            \(url.path) (\(Self.megabytes(fileBytes)))")
            print("loaded:          \(result.images) images, \(result.annotations) annotations, \(result.categories) categories, \(result.issues) issues")
            print(String(format: "time:            %.3f s (%.0f images/s)", seconds, result.imagesPerSecond))
            print("RSS before load: \(Self.megabytes(rssBefore))")
            print("peak RSS:        \(Self.megabytes(peak))\(reset ? "" : " (peak not reset: includes generation)")")
            print(String(format: "peak RSS / file: %.2f", result.peakRSSOverFileSize))
        }
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

    /// Resets VmHWM to the current RSS (Linux: write "5" to /proc/self/clear_refs).
    static func resetPeakRSS() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }
}
