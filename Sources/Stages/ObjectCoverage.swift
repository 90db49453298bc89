import Datasets

/// How much of an image its boxes cover.
public enum ObjectCoverage {
    /// Exact area of the union of the boxes (clipped to the image), by coordinate compression: overlapping
    /// boxes count once, so the result never exceeds the image area.
    public static func unionArea(_ boxes: [BoundingBox], width: Double, height: Double) -> Double {
        let clipped = boxes.compactMap { $0.clipped(toWidth: width, height: height) }
        guard !clipped.isEmpty else { return 0 }
        let xs = Array(Set(clipped.flatMap { [$0.x, $0.maxX] })).sorted()
        let ys = Array(Set(clipped.flatMap { [$0.y, $0.maxY] })).sorted()
        var total = 0.0
        for i in 0..<(xs.count - 1) {
            let cx = (xs[i] + xs[i + 1]) / 2
            let columnBoxes = clipped.filter { $0.x <= cx && cx < $0.maxX }
            if columnBoxes.isEmpty { continue }
            var covered = 0.0
            for j in 0..<(ys.count - 1) {
                let cy = (ys[j] + ys[j + 1]) / 2
                if columnBoxes.contains(where: { $0.y <= cy && cy < $0.maxY }) { covered += ys[j + 1] - ys[j] }
            }
            total += covered * (xs[i + 1] - xs[i])
        }
        return total
    }

    /// Sum of the boxes' areas (clipped to the image); overlaps count twice and it may exceed the image.
    public static func summedArea(_ boxes: [BoundingBox], width: Double, height: Double) -> Double {
        boxes.compactMap { $0.clipped(toWidth: width, height: height)?.area }.reduce(0, +)
    }
}
