import Datasets
#if canImport(Glibc)
import Glibc
#endif

/// pycocotools' `summarize()`: the 12 standard COCO box numbers (AP, AP50, AP75, AP small/medium/large,
/// AR@1/10/100, AR small/medium/large), printed in its layout, plus AP per category.
public struct COCOEvalSummary: Sendable {
    public struct Stat: Sendable {
        /// "AP", "AP50", ..., "ARl".
        public var name: String
        public var isPrecision: Bool
        /// Index into `COCOEvalParameters.iouThresholds`; nil for the mean over all of them.
        public var iouThreshold: Int?
        /// Index into `COCOEvalParameters.areaRanges`.
        public var area: Int
        /// Index into `COCOEvalParameters.maxDetections`.
        public var maxDetections: Int
        /// -1 when undefined (no ground truth box in the area range), as in pycocotools.
        public var value: Double
    }

    public struct CategoryRow: Sendable {
        public var id: Int
        public var name: String
        /// Boxes that count towards recall (not crowd).
        public var groundTruthBoxes: Int
        public var detections: Int
        /// AP @[ IoU=0.50:0.95 | area=all | maxDets=100 ] of this category; -1 without ground truth boxes.
        public var ap: Double
        public var ap50: Double
        public var ap75: Double
    }

    /// In pycocotools' `COCOeval.stats` order.
    public var stats: [Stat]
    /// In ascending category id order.
    public var categories: [CategoryRow]

    /// pycocotools' `stats` entries: (name, precision?, IoU threshold index, area index, max-detections index).
    static let definitions: [(String, Bool, Int?, Int, Int)] = [
        ("AP", true, nil, 0, 2), ("AP50", true, 0, 0, 2), ("AP75", true, COCOEvalParameters.iou75Index, 0, 2),
        ("APs", true, nil, 1, 2), ("APm", true, nil, 2, 2), ("APl", true, nil, 3, 2),
        ("AR1", false, nil, 0, 0), ("AR10", false, nil, 0, 1), ("AR100", false, nil, 0, 2),
        ("ARs", false, nil, 1, 2), ("ARm", false, nil, 2, 2), ("ARl", false, nil, 3, 2),
    ]

    public init(_ evaluation: COCOEvaluation, categories: [Category]) {
        stats = Self.definitions.map { name, isPrecision, t, a, m in
            Stat(name: name, isPrecision: isPrecision, iouThreshold: t, area: a, maxDetections: m,
                 value: evaluation.mean(precision: isPrecision, iouThresholds: t.map { [$0] }, area: a, maxDetections: m))
        }
        var names: [Int: String] = [:]
        for c in categories where names[c.id] == nil { names[c.id] = c.name }
        self.categories = evaluation.categoryIds.enumerated().map { k, id in
            func ap(_ t: Int?) -> Double {
                evaluation.mean(precision: true, iouThresholds: t.map { [$0] }, categories: [k], area: 0, maxDetections: 2)
            }
            return CategoryRow(id: id, name: names[id] ?? "", groundTruthBoxes: evaluation.groundTruthCounts[k],
                               detections: evaluation.detectionCounts[k], ap: ap(nil), ap50: ap(0),
                               ap75: ap(COCOEvalParameters.iou75Index))
        }
    }

    public var values: [Double] { stats.map(\.value) }

    /// The 12 lines pycocotools prints, character for character:
    /// ` Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.372`.
    public var lines: [String] { stats.map(Self.line) }

    static func line(_ s: Stat) -> String {
        let thresholds = COCOEvalParameters.iouThresholds
        let iou = s.iouThreshold.map { format(thresholds[$0], 2) }
            ?? "\(format(thresholds.first!, 2)):\(format(thresholds.last!, 2))"
        let title = s.isPrecision ? "Average Precision  (AP)" : "Average Recall     (AR)"
        let area = COCOEvalParameters.areaRanges[s.area].label
        let maxDets = String(COCOEvalParameters.maxDetections[s.maxDetections])
        return " \(title) @[ IoU=\(pad(iou, 9)) | area=\(pad(area, 6, left: true)) | maxDets=\(pad(maxDets, 3, left: true)) ] = \(format(s.value, 3))"
    }

    /// AP per category as an aligned text table; "-" where a category has no ground truth box.
    public func categoryTable() -> String {
        let nameWidth = max(8, categories.map(\.name.count).max() ?? 0)
        let idWidth = max(2, categories.map { String($0.id).count }.max() ?? 0)
        func ap(_ v: Double) -> String { v < 0 ? "-" : Self.format(v, 3) }
        var rows = ["\(Self.pad("id", idWidth, left: true))  \(Self.pad("category", nameWidth))  \(Self.pad("gt boxes", 8, left: true))  "
                    + "\(Self.pad("detections", 10, left: true))  \(Self.pad("AP", 5, left: true))  \(Self.pad("AP50", 5, left: true))  "
                    + Self.pad("AP75", 5, left: true)]
        for c in categories {
            rows.append("\(Self.pad(String(c.id), idWidth, left: true))  \(Self.pad(c.name, nameWidth))  "
                        + "\(Self.pad(String(c.groundTruthBoxes), 8, left: true))  \(Self.pad(String(c.detections), 10, left: true))  "
                        + "\(Self.pad(ap(c.ap), 5, left: true))  \(Self.pad(ap(c.ap50), 5, left: true))  \(Self.pad(ap(c.ap75), 5, left: true))")
        }
        return rows.joined(separator: "\n")
    }

    /// The numbers as JSON: `stats` in pycocotools' order with `stat_names` beside them, the printed `lines`,
    /// and `per_category` rows (AP, AP50, AP75, counts); -1 where undefined.
    public func json(groundTruth: String, results: String, images: Int, detections: Int) -> [UInt8] {
        var e = JSONEmitter()
        e.raw("{\n  \"ground_truth\": "); e.string(groundTruth)
        e.raw(",\n  \"results\": "); e.string(results)
        e.raw(",\n  \"images\": "); e.int(images)
        e.raw(",\n  \"detections\": "); e.int(detections)
        e.raw(",\n  \"stat_names\": [")
        for (i, s) in stats.enumerated() { if i > 0 { e.raw(", ") }; e.string(s.name) }
        e.raw("],\n  \"stats\": [")
        for (i, s) in stats.enumerated() { if i > 0 { e.raw(", ") }; e.double(s.value) }
        e.raw("],\n  \"lines\": [")
        for (i, line) in lines.enumerated() { e.raw(i > 0 ? ",\n    " : "\n    "); e.string(line) }
        e.raw("\n  ],\n  \"per_category\": [")
        for (i, c) in categories.enumerated() {
            e.raw(i > 0 ? ",\n    {\"id\": " : "\n    {\"id\": "); e.int(c.id)
            e.raw(", \"name\": "); e.string(c.name)
            e.raw(", \"ground_truth_boxes\": "); e.int(c.groundTruthBoxes)
            e.raw(", \"detections\": "); e.int(c.detections)
            e.raw(", \"ap\": "); e.double(c.ap)
            e.raw(", \"ap50\": "); e.double(c.ap50)
            e.raw(", \"ap75\": "); e.double(c.ap75)
            e.raw("}")
        }
        e.raw(categories.isEmpty ? "]\n}\n" : "\n  ]\n}\n")
        return e.bytes
    }

    /// Python's `'{:0.Nf}'.format(v)`: correctly rounded, ties to even (glibc's printf does the same).
    static func format(_ value: Double, _ decimals: Int) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
            _ = withVaList([value]) { vsnprintf(buffer.baseAddress!, 64, "%.\(decimals)f", $0) }
            return String(cString: buffer.baseAddress!)
        }
    }

    static func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return left ? fill + text : text + fill
    }
}
