import Foundation

/// Writes a COCO results file (`[{"image_id", "category_id", "bbox": [x, y, w, h], "score"}, ...]`), the format
/// `COCOResultsReader` reads: one detection per line, in the order given, 2 decimals for pixels and 5 for scores.
public enum COCOResultsWriter {
    public static func json(_ detections: [COCODetection]) -> String {
        let lines = detections.map { d -> String in
            // Ids by interpolation: "%d" is 32 bits here, and generated ids (10^12 + ...) need 64.
            "{\"image_id\": \(d.imageId), \"category_id\": \(d.categoryId), "
                + String(format: "\"bbox\": [%.2f, %.2f, %.2f, %.2f], \"score\": %.5f}", d.bbox.x, d.bbox.y, d.bbox.width, d.bbox.height, d.score)
        }
        return "[\n" + lines.joined(separator: ",\n") + (lines.isEmpty ? "]\n" : "\n]\n")
    }
}
