import Datasets
/// What `COCOEvaluator` computes: pycocotools' `COCOeval.eval` arrays, in the same layout and with the same
/// conventions, plus counts for reports.
///
/// - `precision(t, r, k, a, m)`: the interpolated precision at IoU threshold t, recall threshold r, category k,
///   area range a and detection limit m (indices into `COCOEvalParameters` and `categoryIds`); -1 where the
///   category has no ground truth box in that area range, as in pycocotools.
/// - `recall(t, k, a, m)`: the recall reached with all detections considered; -1 likewise.
public struct COCOEvaluation: Sendable {
    /// The ground truth's image ids, ascending (pycocotools' `params.imgIds`).
    public let imageIds: [Int]
    /// The ground truth's category ids, ascending (pycocotools' `params.catIds`).
    public let categoryIds: [Int]
    /// Per category: boxes that count towards recall (not crowd) over all areas.
    public internal(set) var groundTruthCounts: [Int]
    /// Per category: detections evaluated (at most 100 per image, the best-scored).
    public internal(set) var detectionCounts: [Int]
    /// Ground truth annotations naming an image or category the file does not list; left out, as pycocotools does.
    public internal(set) var annotationsLeftOut = 0
    /// Detections naming an image or category the ground truth does not list; left out. (`COCOResultsReader`
    /// refuses such files, so this is 0 for a file it read.)
    public internal(set) var detectionsLeftOut = 0
    /// Evaluated ground truth boxes whose annotation id is 0: pycocotools records a match as the matched
    /// annotation's id, so a detection matched to id 0 reads as unmatched there (a false positive). The
    /// evaluator does the same to give the same numbers.
    public internal(set) var annotationsWithIdZero = 0

    var precisionValues: [Double]
    var recallValues: [Double]

    static var T: Int { COCOEvalParameters.iouThresholds.count }
    static var R: Int { COCOEvalParameters.recallThresholds.count }
    static var A: Int { COCOEvalParameters.areaRanges.count }
    static var M: Int { COCOEvalParameters.maxDetections.count }

    init(imageIds: [Int], categoryIds: [Int]) {
        self.imageIds = imageIds
        self.categoryIds = categoryIds
        let K = categoryIds.count
        groundTruthCounts = [Int](repeating: 0, count: K)
        detectionCounts = [Int](repeating: 0, count: K)
        precisionValues = [Double](repeating: -1, count: Self.T * Self.R * K * Self.A * Self.M)
        recallValues = [Double](repeating: -1, count: Self.T * K * Self.A * Self.M)
    }

    /// Row-major [T, R, K, A, M], numpy's layout of `eval['precision']`.
    @inline(__always) func precisionIndex(_ t: Int, _ r: Int, _ k: Int, _ a: Int, _ m: Int) -> Int {
        (((t * Self.R + r) * categoryIds.count + k) * Self.A + a) * Self.M + m
    }

    /// Row-major [T, K, A, M], numpy's layout of `eval['recall']`.
    @inline(__always) func recallIndex(_ t: Int, _ k: Int, _ a: Int, _ m: Int) -> Int {
        ((t * categoryIds.count + k) * Self.A + a) * Self.M + m
    }

    public func precision(t: Int, r: Int, k: Int, a: Int, m: Int) -> Double { precisionValues[precisionIndex(t, r, k, a, m)] }

    public func recall(t: Int, k: Int, a: Int, m: Int) -> Double { recallValues[recallIndex(t, k, a, m)] }

    /// pycocotools' `_summarize`: the mean of the precision (or recall) entries over the given IoU thresholds,
    /// all recall thresholds and the given categories, at one area range and detection limit, counting only
    /// entries that are not -1; -1 when every entry is.
    public func mean(precision: Bool, iouThresholds: [Int]? = nil, categories: [Int]? = nil, area: Int, maxDetections m: Int) -> Double {
        let ts = iouThresholds ?? Array(0..<Self.T)
        let ks = categories ?? Array(categoryIds.indices)
        var sum = 0.0
        var n = 0
        for t in ts {
            for k in ks {
                if precision {
                    for r in 0..<Self.R {
                        let v = precisionValues[precisionIndex(t, r, k, area, m)]
                        if v > -1 { sum += v; n += 1 }
                    }
                } else {
                    let v = recallValues[recallIndex(t, k, area, m)]
                    if v > -1 { sum += v; n += 1 }
                }
            }
        }
        return n == 0 ? -1 : sum / Double(n)
    }
}
