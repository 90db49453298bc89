import Datasets
import Foundation
import Imaging
import Pipeline

/// `preview.jpg`: a contact sheet of reference images next to their generated variants, with the boxes drawn
/// (references: their ground truth; variants: the labels with class and score), so a person can judge a
/// generated dataset at a glance.
public enum GenerationPreview {
    /// References shown (rows) and variants per reference (columns) by default.
    public static let rows = 8
    public static let columns = 4

    /// The sheet for up to `rows` references (lowest ids first) and up to `columns` variants each, or nil when
    /// no item is generated.
    public static func render(generated: [DatasetItem], references: [DatasetItem], categories: [Category],
                              rows: Int = GenerationPreview.rows, columns: Int = GenerationPreview.columns) -> RGBImage? {
        let byReference = Dictionary(grouping: generated.filter { $0.image.provenance != nil }) { $0.image.provenance!.referenceImageId }
        guard !byReference.isEmpty else { return nil }
        let referenceById = Dictionary(references.map { ($0.image.id, $0) }, uniquingKeysWith: { a, _ in a })
        let names = Dictionary(categories.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        var grid: [[ContactSheet.Cell]] = []
        for refId in byReference.keys.sorted().prefix(rows) {
            var row: [ContactSheet.Cell] = []
            if let reference = referenceById[refId], var image = try? JPEG.decodeFile(atPath: reference.sourcePath).image {
                draw(reference.annotations, on: &image, names: names, withScores: false)
                row.append(.init(image, caption: "reference \(refId)"))
            } else {
                row.append(.init(nil, caption: "reference \(refId)"))
            }
            let variants = byReference[refId]!.sorted { $0.image.provenance!.variant < $1.image.provenance!.variant }
            for item in variants.prefix(columns) {
                let p = item.image.provenance!
                let caption = "v\(p.variant) ratio " + String(format: "%.2f", p.encodeRatio ?? 0)
                guard var image = try? JPEG.decodeFile(atPath: item.sourcePath).image else {
                    row.append(.init(nil, caption: caption))
                    continue
                }
                draw(item.annotations, on: &image, names: names, withScores: true)
                row.append(.init(image, caption: caption))
            }
            grid.append(row)
        }
        let side = grid.joined().compactMap { $0.image.map { max($0.width, $0.height) } }.max() ?? 256
        var sheet = ContactSheet.fitting(grid, maxCellSide: max(256, min(side, 384)))
        if side < 256 {
            sheet = ContactSheet(cellWidth: 256, cellHeight: 256, upscale: true)
        }
        return sheet.render(grid)
    }

    static func draw(_ annotations: [Annotation], on image: inout RGBImage, names: [Int: String], withScores: Bool) {
        let scale = max(1, min(image.width, image.height) / 256)
        for a in annotations {
            let name = names[a.categoryId] ?? "\(a.categoryId)"
            let label = withScores ? name + (a.score.map { String(format: " %.2f", $0) } ?? "") : name
            image.drawBox(x: a.bbox.x, y: a.bbox.y, width: a.bbox.width, height: a.bbox.height,
                          color: CategoryPalette.color(for: a.categoryId), label: label, thickness: max(1, scale), scale: scale)
        }
    }
}
