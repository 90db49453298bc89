import Datasets
/// stats.svg: per-category instance counts as a grouped horizontal bar chart, one row per category (ordered by
/// id, as in the tables), the reference's bar (grey) above the dataset's (blue), the count at the end of each
/// bar, a linear axis with gridlines above and below. The height grows with the number of categories so that
/// 80 COCO categories stay readable; names are XML-escaped and long ones shortened (full name in the tooltip).
///
/// Every bar is a `<rect>` with class `bar reference` or `bar dataset` and a `<title>` tooltip, so the chart can
/// be checked by machine as well as by eye.
extension DatasetStatistics {
    static let chartReferenceColor = "#a3acb9"
    static let chartDatasetColor = "#3d6fb6"

    public func svgChart() -> String {
        typealias F = StatisticsFormat
        let hasReference = reference != nil
        let series: [(label: String, cssClass: String, color: String, values: [Int])] =
            (hasReference ? [(referenceName ?? "reference", "bar reference", Self.chartReferenceColor,
                              categories.map { $0.referenceInstances ?? 0 })] : [])
            + [(name, "bar dataset", Self.chartDatasetColor, categories.map(\.instances))]

        // Geometry (pixels).
        let fontSize = 11.0
        let charWidth = 6.2  // average advance of an 11 px sans-serif character
        let maxLabelCharacters = 28
        let labels = categories.map { c -> String in
            c.name.count > maxLabelCharacters ? String(c.name.prefix(maxLabelCharacters - 1)) + "…" : c.name
        }
        let longestLabel = labels.map(\.count).max() ?? 0
        let left = max(80, (Double(longestLabel) * charWidth + 20).rounded())
        let plotWidth = 640.0
        let right = 70.0  // room for the count after the longest bar
        let barHeight = hasReference ? 8.0 : 12.0
        let barGap = 1.0
        let groupGap = 7.0
        let groupHeight = Double(series.count) * barHeight + Double(series.count - 1) * barGap + groupGap
        let top = 96.0
        let plotHeight = max(groupHeight * Double(categories.count), groupHeight)
        let bottom = 56.0
        let width = left + plotWidth + right
        let height = top + plotHeight + bottom

        // Axis: 0 ... a round maximum in steps of 1, 2, 2.5 or 5 × 10^k.
        let maxValue = series.flatMap(\.values).max() ?? 0
        let step = Self.niceStep(for: Double(max(maxValue, 1)) / 5)
        let axisMax = max(step, (Double(max(maxValue, 1)) / step).rounded(.up) * step)
        func x(_ value: Double) -> Double { left + plotWidth * value / axisMax }
        func n(_ v: Double) -> String { F.trimmed(v, 1) }

        var s = ""
        s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" "
        s += "viewBox=\"0 0 \(n(width)) \(n(height))\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
        s += "font-size=\"\(n(fontSize))\">\n"
        s += "<rect class=\"background\" x=\"0\" y=\"0\" width=\"\(n(width))\" height=\"\(n(height))\" fill=\"#ffffff\"/>\n"
        let title = hasReference
            ? "Instances per category: \(name) vs \(referenceName ?? "reference")" : "Instances per category: \(name)"
        s += "<text x=\"\(n(left))\" y=\"26\" font-size=\"16\" font-weight=\"bold\">\(MiniXML.escapeText(title))</text>\n"

        // Legend.
        var legendX = left
        for entry in series {
            s += "<rect class=\"legend\" x=\"\(n(legendX))\" y=\"40\" width=\"14\" height=\"14\" fill=\"\(entry.color)\"/>\n"
            s += "<text x=\"\(n(legendX + 20))\" y=\"51\">\(MiniXML.escapeText(entry.label))</text>\n"
            legendX += 20 + Double(entry.label.count) * charWidth + 24
        }

        // Every other row shaded, under the gridlines.
        s += "<g class=\"bands\" fill=\"#f4f5f7\">\n"
        for k in stride(from: 1, to: categories.count, by: 2) {
            s += "<rect x=\"0\" y=\"\(n(top + Double(k) * groupHeight))\" width=\"\(n(width))\" height=\"\(n(groupHeight))\"/>\n"
        }
        s += "</g>\n"

        // Gridlines and tick labels, above and below the bars.
        s += "<g class=\"axis\" stroke=\"#e3e6ea\" stroke-width=\"1\">\n"
        var ticks: [Double] = []
        var t = 0.0
        while t <= axisMax + step / 1000 { ticks.append(t); t += step }
        for tick in ticks {
            s += "<line x1=\"\(n(x(tick)))\" y1=\"\(n(top - 6))\" x2=\"\(n(x(tick)))\" y2=\"\(n(top + plotHeight + 6))\"/>\n"
        }
        s += "</g>\n"
        s += "<g class=\"ticks\" fill=\"#4a4f57\" text-anchor=\"middle\" font-size=\"10\">\n"
        for tick in ticks {
            s += "<text x=\"\(n(x(tick)))\" y=\"\(n(top - 10))\">\(F.compact(tick))</text>\n"
            s += "<text x=\"\(n(x(tick)))\" y=\"\(n(top + plotHeight + 19))\">\(F.compact(tick))</text>\n"
        }
        s += "</g>\n"
        s += "<line x1=\"\(n(left))\" y1=\"\(n(top - 6))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight + 6))\" stroke=\"#4a4f57\"/>\n"
        s += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(top + plotHeight + 42))\" text-anchor=\"middle\" fill=\"#4a4f57\">"
        s += "instances (non-crowd annotations)</text>\n"

        // Category rows.
        s += "<g class=\"categories\">\n"
        for (k, category) in categories.enumerated() {
            let groupTop = top + Double(k) * groupHeight + groupGap / 2
            let middle = groupTop + (groupHeight - groupGap) / 2
            s += "<text x=\"\(n(left - 8))\" y=\"\(n(middle + fontSize * 0.36))\" text-anchor=\"end\">"
            s += "\(MiniXML.escapeText(labels[k]))</text>\n"
            for (j, entry) in series.enumerated() {
                let value = entry.values[k]
                let y = groupTop + Double(j) * (barHeight + barGap)
                let barWidth = x(Double(value)) - left
                s += "<rect class=\"\(entry.cssClass)\" x=\"\(n(left))\" y=\"\(n(y))\" width=\"\(n(barWidth))\" "
                s += "height=\"\(n(barHeight))\" fill=\"\(entry.color)\">"
                s += "<title>\(MiniXML.escapeText("\(category.name) (id \(category.id)), \(entry.label): \(value)"))</title></rect>\n"
                s += "<text x=\"\(n(left + barWidth + 4))\" y=\"\(n(y + barHeight - 0.5))\" font-size=\"\(n(min(barHeight + 1, 10)))\" "
                s += "fill=\"#4a4f57\">\(value)</text>\n"
            }
        }
        s += "</g>\n"
        s += "</svg>\n"
        return s
    }

    /// The smallest 1, 2, 2.5 or 5 × 10^k that is at least `raw`.
    static func niceStep(for raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where factor * magnitude >= raw {
            return max(1, factor * magnitude)
        }
        return max(1, 10 * magnitude)
    }
}
