import Datasets
/// One category's evaluated detections over all images, and pycocotools' `accumulate` on them: the
/// precision/recall curve per IoU threshold, area range and detection limit.
struct COCOCategoryDetections {
    /// Per detection, images in ascending id order, within an image best score first.
    var scores: [Double] = []
    /// Per detection: its place in its image's score order (0 = best), for the detection limits.
    var ranks: [Int32] = []
    /// Per detection and area range (`areaRanges.count` entries per detection): `COCOImageMatching.Outcome` bits.
    var outcomes: [UInt32] = []
    /// Per area range: ground truth boxes not ignored there (pycocotools' `npig`).
    var countedTruths = [Int](repeating: 0, count: COCOEvalParameters.areaRanges.count)
    var detectionCount = 0

    mutating func reset() {
        scores.removeAll(keepingCapacity: true)
        ranks.removeAll(keepingCapacity: true)
        outcomes.removeAll(keepingCapacity: true)
        for a in countedTruths.indices { countedTruths[a] = 0 }
        detectionCount = 0
    }

    /// Fills category `k`'s precision and recall entries of `evaluation`.
    func accumulate(category k: Int, into evaluation: inout COCOEvaluation) {
        let areas = COCOEvalParameters.areaRanges.count
        let recallThresholds = COCOEvalParameters.recallThresholds
        // All images' detections by descending score, stably (np.argsort(-scores, kind='mergesort') of their
        // concatenation in image order). Sorting once serves every detection limit: a stable sort of a
        // subsequence is the subsequence of the stable sort.
        let scores = self.scores
        let order = scores.indices.sorted { a, b in scores[a] > scores[b] || (scores[a] == scores[b] && a < b) }
        var selected: [Int] = []
        selected.reserveCapacity(order.count)
        // Scratch for one curve: the selected detections' outcomes at one area range; recall and precision at
        // each true positive.
        var column = [UInt32](repeating: 0, count: order.count)
        var recall = [Double](repeating: 0, count: order.count)
        var precision = [Double](repeating: 0, count: order.count)

        for (m, limit) in COCOEvalParameters.maxDetections.enumerated() {
            selected.removeAll(keepingCapacity: true)
            for d in order where ranks[d] < limit { selected.append(d) }
            let n = selected.count
            for a in 0..<areas {
                let npig = countedTruths[a]
                if npig == 0 { continue }  // no ground truth here: stays -1
                for (i, d) in selected.enumerated() { column[i] = outcomes[d * areas + a] }
                for t in COCOEvalParameters.iouThresholds.indices {
                    let points = column.withUnsafeBufferPointer { column in
                        recall.withUnsafeMutableBufferPointer { recall in
                            precision.withUnsafeMutableBufferPointer { precision in
                                Self.curve(column, count: n, truths: npig, threshold: t, recall: recall, precision: precision)
                            }
                        }
                    }
                    evaluation.recallValues[evaluation.recallIndex(t, k, a, m)] = points > 0 ? recall[points - 1] : 0
                    // np.searchsorted(recall, thresholds, side='left'); thresholds past the last recall get 0.
                    var i = 0
                    for (r, threshold) in recallThresholds.enumerated() {
                        while i < points && recall[i] < threshold { i += 1 }
                        evaluation.precisionValues[evaluation.precisionIndex(t, r, k, a, m)] = i < points ? precision[i] : 0
                    }
                }
            }
        }
        evaluation.groundTruthCounts[k] = countedTruths[0]
        evaluation.detectionCounts[k] = detectionCount
    }

    /// The points of pycocotools' precision/recall curve at IoU threshold `t` over the first `n` detections
    /// that decide its AP: recall (`tp / npig`) and interpolated precision (`tp / (fp + tp + eps)`, then the
    /// best at this recall or any higher one) at each true positive, in order; returns how many.
    ///
    /// pycocotools computes both after every detection, but only these points can be read: recall rises only
    /// at a true positive, so the first entry reaching a recall threshold (`searchsorted`) is one; between two
    /// true positives precision only falls, so the envelope is the same over these points; and the one other
    /// entry that can be read, the first (for threshold 0), holds the overall maximum, which the first true
    /// positive holds too (or 0 when there is none, as here). The values are computed by the same operations,
    /// so they are the same bits.
    static func curve(_ outcomes: UnsafeBufferPointer<UInt32>, count n: Int, truths npig: Int, threshold t: Int,
                      recall: UnsafeMutableBufferPointer<Double>, precision: UnsafeMutableBufferPointer<Double>) -> Int {
        let tpBit = COCOImageMatching.Outcome.truePositive(t)
        let fpBit = COCOImageMatching.Outcome.falsePositive(t)
        let total = Double(npig)
        var tp = 0.0, fp = 0.0
        var points = 0
        for i in 0..<n {
            let outcome = outcomes[i]
            if outcome & fpBit != 0 { fp += 1 }
            if outcome & tpBit != 0 {
                tp += 1
                recall[points] = tp / total
                precision[points] = tp / (fp + tp + Double.ulpOfOne)
                points += 1
            }
        }
        var i = points - 1
        while i > 0 {
            if precision[i] > precision[i - 1] { precision[i - 1] = precision[i] }
            i -= 1
        }
        return points
    }
}
