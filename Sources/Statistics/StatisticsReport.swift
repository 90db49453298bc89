import Datasets
import Foundation
import Support

/// The statistics report files: stats.md (tables for people, Table 1 first), stats.json (the whole
/// `DatasetStatistics`, sorted keys), stats.csv (one row per category) and stats.svg (per-category instance
/// counts as a bar chart, see `svgChart()`). Output is deterministic: no timestamps, fixed number formats.
extension DatasetStatistics {
    /// The file names `write(to:)` creates.
    public static let reportFileNames = ["stats.md", "stats.json", "stats.csv", "stats.svg"]

    /// Writes stats.md, stats.json, stats.csv and stats.svg into `directory` (created if needed), each
    /// atomically.
    public func write(to directory: URL) throws {
        try AtomicFile.makeDirectories(directory.path)
        try AtomicFile.write(markdown(), to: directory.appendingPathComponent("stats.md"))
        try AtomicFile.write(try json(), to: directory.appendingPathComponent("stats.json"))
        try AtomicFile.write(csv(), to: directory.appendingPathComponent("stats.csv"))
        try AtomicFile.write(svgChart(), to: directory.appendingPathComponent("stats.svg"))
    }

    /// Table 1 as text cells: Dataset | #Images | #Scale | #Instances | #Scale, numbers with thousands
    /// separators, scales to one decimal ("1.5x", "-" on the reference row).
    ///
    /// The scale is rounded to the nearest tenth. The paper's own Table 1 is not consistent here:
    /// 205,287 / 117,266 = 1.751 is printed 1.7x (truncated) but 168,141 / 47,223 = 3.561 is printed 3.6x
    /// (rounded); no one rule gives both, and rounding gives 1.8x for the first.
    public func tableCells() -> [[String]] {
        let referenceRow = reference == nil ? nil : table.first
        return table.enumerated().map { k, row in
            let isReference = referenceRow != nil && k == 0
            let imageScale = isReference || referenceRow == nil ? "-" : StatisticsFormat.scale(row.images, referenceRow!.images)
            let instanceScale = isReference || referenceRow == nil
                ? "-" : StatisticsFormat.scale(row.instances, referenceRow!.instances)
            return [row.dataset, StatisticsFormat.grouped(row.images), imageScale,
                    StatisticsFormat.grouped(row.instances), instanceScale]
        }
    }

    // MARK: - Markdown

    public func markdown() -> String {
        let hasReference = reference != nil
        let refName = referenceName ?? "reference"
        var md = "# Dataset statistics: \(mdEscape(name))\n\n"

        md += "## Table 1\n\n"
        md += mdTable(header: ["Dataset", "#Images", "#Scale", "#Instances", "#Scale"],
                      align: [false, true, true, true, true], rows: tableCells().map { [mdEscape($0[0])] + $0.dropFirst() })
        md += "\n#Images: images with at least one non-crowd annotation. #Instances: non-crowd annotations"
        md += hasReference ? ". #Scale: \(mdEscape(name)) / \(mdEscape(refName)), to one decimal.\n\n" : ".\n\n"

        md += "## Per category\n\n"
        if hasReference {
            md += mdTable(
                header: ["Id", "Category", "\(mdEscape(refName)) instances", "Instances", "Gain",
                         "\(mdEscape(refName)) images", "Images"],
                align: [true, false, true, true, true, true, true],
                rows: categories.map { c in
                    [String(c.id), mdEscape(c.name), StatisticsFormat.grouped(c.referenceInstances ?? 0),
                     StatisticsFormat.grouped(c.instances), c.gain.map { StatisticsFormat.fixed($0, 2) + "x" } ?? "-",
                     StatisticsFormat.grouped(c.referenceImages ?? 0), StatisticsFormat.grouped(c.images)]
                })
        } else {
            md += mdTable(header: ["Id", "Category", "Instances", "Images"], align: [true, false, true, true],
                          rows: categories.map { c in
                              [String(c.id), mdEscape(c.name), StatisticsFormat.grouped(c.instances),
                               StatisticsFormat.grouped(c.images)]
                          })
        }
        md += "\n"

        let summaries: [(String, Summary)] = (reference.map { [(mdEscape(refName), $0)] } ?? []) + [(mdEscape(name), dataset)]
        let columns = summaries.map(\.0)

        md += "## Box sizes (COCO area buckets)\n\n"
        var sizeRows: [[String]] = []
        let buckets: [(String, KeyPath<SizeBuckets, Int>)] = [
            ("small (area < 32²)", \.small), ("medium (32² ≤ area < 96²)", \.medium), ("large (area ≥ 96²)", \.large),
        ]
        for (label, pick) in buckets {
            var row = [label]
            for (_, s) in summaries {
                let count = s.sizes[keyPath: pick]
                let share = s.instances == 0 ? 0 : Double(count) / Double(s.instances)
                row += [StatisticsFormat.grouped(count), StatisticsFormat.percent(share)]
            }
            sizeRows.append(row)
        }
        md += mdTable(header: ["Bucket"] + columns.flatMap { [$0, "Share"] },
                      align: [false] + columns.flatMap { _ in [true, true] }, rows: sizeRows)
        md += "\nOver instances, by the annotation's `area` (for COCO the mask area, for VOC and generated boxes the box area).\n\n"

        md += "## Box dimensions (pixels)\n\n"
        var dimensionRows: [[String]] = []
        for (label, s) in summaries {
            for (what, distribution) in [("width", s.boxWidth), ("height", s.boxHeight), ("area", s.boxArea)] {
                let cells = distribution.map { d in
                    [d.min, d.p25, d.median, d.p75, d.max, d.mean].map { v in
                        what == "area" && v.magnitude < 1e15 ? StatisticsFormat.grouped(Int(v.rounded())) : StatisticsFormat.fixed(v, 1)
                    }
                } ?? Array(repeating: "-", count: 6)
                dimensionRows.append([label, what] + cells)
            }
        }
        md += mdTable(header: ["Dataset", "Box", "Min", "P25", "Median", "P75", "Max", "Mean"],
                      align: [false, false, true, true, true, true, true, true], rows: dimensionRows)
        md += "\nQuartiles interpolate linearly between the closest ranks.\n\n"

        md += "## Checks\n\n"
        let checks: [(String, KeyPath<Summary, Int>)] = [
            ("Images", \.images), ("Images without annotations", \.imagesWithoutAnnotations),
            ("Annotations (crowd included)", \.annotations), ("Crowd annotations", \.crowd),
            ("Difficult", \.difficult), ("Truncated", \.truncated), ("Zero-area boxes", \.zeroAreaBoxes),
            ("Boxes outside their image (> 0.5 px)", \.boxesOutsideImage),
            ("Annotations of unknown images", \.annotationsOfUnknownImages),
            ("Annotations of unknown categories", \.annotationsOfUnknownCategories),
        ]
        md += mdTable(header: ["Count"] + columns, align: [false] + columns.map { _ in true },
                      rows: checks.map { label, key in [label] + summaries.map { StatisticsFormat.grouped($0.1[keyPath: key]) } })
        md += "\n"

        if summaries.contains(where: { $0.1.attributes != nil }) {
            md += "## Attributes\n\n"
            let attributeRows: [(String, KeyPath<AttributeCounts, Int>)] = [
                ("easy", \.easy), ("hard", \.hard), ("unknown", \.unknown), ("other value", \.other), ("none", \.missing),
            ]
            md += mdTable(header: ["Attribute"] + columns, align: [false] + columns.map { _ in true },
                          rows: attributeRows.map { label, key in
                              [label] + summaries.map { s in s.1.attributes.map { StatisticsFormat.grouped($0[keyPath: key]) } ?? "-" }
                          })
            md += "\n"
        }

        if summaries.contains(where: { $0.1.scores != nil }) {
            md += "## Scores\n\n"
            var scoreRows: [[String]] = (0..<10).map { k in
                let low = StatisticsFormat.fixed(Double(k) / 10, 1), high = StatisticsFormat.fixed(Double(k + 1) / 10, 1)
                return ["[\(low), \(high)\(k == 9 ? "]" : ")")"]
                    + summaries.map { s in s.1.scores.map { StatisticsFormat.grouped($0.bins[k]) } ?? "-" }
            }
            scoreRows.append(["outside [0, 1]"] + summaries.map { s in s.1.scores.map { StatisticsFormat.grouped($0.outOfRange) } ?? "-" })
            scoreRows.append(["no score"] + summaries.map { s in s.1.scores.map { StatisticsFormat.grouped($0.missing) } ?? "-" })
            scoreRows.append(["mean"] + summaries.map { s in s.1.scores?.mean.map { StatisticsFormat.fixed($0, 3) } ?? "-" })
            md += mdTable(header: ["Score"] + columns, align: [false] + columns.map { _ in true }, rows: scoreRows)
            md += "\n"
        }
        return md
    }

    private func mdTable(header: [String], align: [Bool], rows: [[String]]) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + align.map { $0 ? " ---: |" : " --- |" }.joined() + "\n"
        for row in rows { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }

    private func mdEscape(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "|": out += "\\|"
            case "\n", "\r", "\r\n": out += " "
            case "<": out += "&lt;"
            default: out.append(ch)
            }
        }
        return out
    }

    // MARK: - CSV and JSON

    /// One row per category: `category_id,name,ref_instances,instances,ref_images,images,gain`. Without a
    /// reference the ref_ columns and gain are empty; gain is empty when the reference has no instances of
    /// the category, else written with 4 decimals. Names are quoted (RFC 4180) when they need it.
    public func csv() -> String {
        var out = "category_id,name,ref_instances,instances,ref_images,images,gain\n"
        for c in categories {
            let fields = [
                String(c.id), csvField(c.name), c.referenceInstances.map(String.init) ?? "", String(c.instances),
                c.referenceImages.map(String.init) ?? "", String(c.images), c.gain.map { StatisticsFormat.fixed($0, 4) } ?? "",
            ]
            out += fields.joined(separator: ",") + "\n"
        }
        return out
    }

    private func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" })
            || text.hasPrefix(" ") || text.hasSuffix(" ")
        else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The statistics as pretty-printed JSON with sorted keys, ending in a newline.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0A]
    }
}
