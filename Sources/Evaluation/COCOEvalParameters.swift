import Datasets
/// pycocotools' default `Params` for box evaluation (`iouType='bbox'`), value for value.
///
/// The thresholds are built the way `np.linspace` builds them (`i * step + start`, the last one set to `stop`),
/// not as `i / 100`: the two differ in the last bit for 10 of the 101 recall thresholds (0.35, 0.41, ...), and
/// a recall of exactly 35/100 must fall on the same side of a threshold as it does in pycocotools.
public enum COCOEvalParameters {
    /// 0.50, 0.55, ..., 0.95.
    public static let iouThresholds: [Double] = linspace(0.5, 0.95, count: 10)
    /// 0.00, 0.01, ..., 1.00.
    public static let recallThresholds: [Double] = linspace(0, 1, count: 101)
    /// Detections per image considered, ascending; the last also truncates each image's detections of a category.
    public static let maxDetections = [1, 10, 100]

    public struct AreaRange: Sendable {
        public var label: String
        public var lower: Double
        public var upper: Double

        /// pycocotools' test: both ends are inside, so a 32x32 box is both small and medium.
        @inline(__always) public func contains(_ area: Double) -> Bool { !(area < lower || area > upper) }
    }

    /// all, small (< 32²), medium (32² to 96²), large (> 96²), in pixels of the annotation's `area`.
    public static let areaRanges = [
        AreaRange(label: "all", lower: 0, upper: 1e5 * 1e5),
        AreaRange(label: "small", lower: 0, upper: 32 * 32),
        AreaRange(label: "medium", lower: 32 * 32, upper: 96 * 96),
        AreaRange(label: "large", lower: 96 * 96, upper: 1e5 * 1e5),
    ]

    /// Position of IoU 0.75 in `iouThresholds` (the AP75 column).
    static let iou75Index = 5

    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        let step = (stop - start) / Double(count - 1)
        var values = (0..<count).map { Double($0) * step + start }
        values[count - 1] = stop
        return values
    }
}
