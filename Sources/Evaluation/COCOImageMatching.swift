import Datasets
/// pycocotools' `computeIoU` + `evaluateImg` for one image and one category, for every area range and IoU
/// threshold at once: which detections are true positives, false positives or ignored.
///
/// Reuses its buffers from one image to the next; the evaluator calls it once per (image, category) that has
/// ground truth or detections.
struct COCOImageMatching {
    /// One ground truth box as the matching needs it.
    struct Truth {
        var box: BoundingBox
        var area: Double
        var isCrowd: Bool
        /// See `COCOEvaluation.annotationsWithIdZero`.
        var idIsZero: Bool
    }

    /// The outcome of one detection at one area range: bit t set in `truePositive` / `falsePositive` for IoU
    /// threshold t; a detection with neither bit is ignored at that threshold.
    struct Outcome {
        static func truePositive(_ t: Int) -> UInt32 { 1 << UInt32(t) }
        static func falsePositive(_ t: Int) -> UInt32 { 1 << UInt32(16 + t) }
    }

    private var order: [Int] = []
    private var ious: [Double] = []
    private var ignored: [Bool] = []
    private var truthOrder: [Int] = []
    private var sortedIous: [Double] = []
    private var sortedIgnored: [Bool] = []
    private var sortedCrowd: [Bool] = []
    private var sortedIdIsZero: [Bool] = []
    private var matched: [Bool] = []

    /// Evaluates `truths` (file order) against `detections` (file order) and appends to `category` the kept
    /// detections (the 100 best-scored, ties in file order) with their outcomes per area range.
    mutating func evaluate(truths: ArraySlice<Truth>, detections: ArraySlice<COCODetection>,
                           into category: inout COCOCategoryDetections) {
        let maxDetections = COCOEvalParameters.maxDetections.last!
        // np.argsort(-scores, kind='mergesort'): descending score, stable.
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: detections.indices)
        order.sort { a, b in
            let sa = detections[a].score, sb = detections[b].score
            return sa > sb || (sa == sb && a < b)
        }
        if order.count > maxDetections { order.removeLast(order.count - maxDetections) }
        let D = order.count
        let G = truths.count

        // IoU of every kept detection with every ground truth box (maskApi.c's bbIou).
        ious.removeAll(keepingCapacity: true)
        for d in order {
            let box = detections[d].bbox
            for g in truths { ious.append(Self.iou(box, g.box, crowd: g.isCrowd)) }
        }

        if matched.count < G { matched = [Bool](repeating: false, count: G) }
        let firstOutcome = category.outcomes.count
        for (rank, d) in order.enumerated() {
            category.scores.append(detections[d].score)
            category.ranks.append(Int32(rank))
            for _ in COCOEvalParameters.areaRanges { category.outcomes.append(0) }
        }
        category.detectionCount += D

        let thresholds = COCOEvalParameters.iouThresholds
        for (a, range) in COCOEvalParameters.areaRanges.enumerated() {
            // Ground truth ignored at this range (crowd, or area outside it) goes last, stably.
            ignored.removeAll(keepingCapacity: true)
            truthOrder.removeAll(keepingCapacity: true)
            for g in truths { ignored.append(g.isCrowd || !range.contains(g.area)) }
            for g in 0..<G where !ignored[g] { truthOrder.append(g) }
            category.countedTruths[a] += truthOrder.count
            for g in 0..<G where ignored[g] { truthOrder.append(g) }

            sortedIgnored.removeAll(keepingCapacity: true)
            sortedCrowd.removeAll(keepingCapacity: true)
            sortedIdIsZero.removeAll(keepingCapacity: true)
            for g in truthOrder {
                let truth = truths[truths.startIndex + g]
                sortedIgnored.append(ignored[g])
                sortedCrowd.append(truth.isCrowd)
                sortedIdIsZero.append(truth.idIsZero)
            }
            sortedIous.removeAll(keepingCapacity: true)
            for d in 0..<D {
                for g in truthOrder { sortedIous.append(ious[d * G + g]) }
            }

            for (t, threshold) in thresholds.enumerated() {
                for g in 0..<G { matched[g] = false }
                for d in 0..<D {
                    // The best still-available box with IoU >= threshold; a later box with an equal IoU wins.
                    var best = min(threshold, 1 - 1e-10)
                    var m = -1
                    for g in 0..<G {
                        if matched[g] && !sortedCrowd[g] { continue }
                        // Matched to a regular box and only ignored boxes remain: stop.
                        if m > -1 && !sortedIgnored[m] && sortedIgnored[g] { break }
                        let iou = sortedIous[d * G + g]
                        if iou < best { continue }
                        best = iou
                        m = g
                    }
                    let isMatched = m > -1 && !sortedIdIsZero[m]
                    var isIgnored = false
                    if m > -1 {
                        isIgnored = sortedIgnored[m]
                        matched[m] = true
                    }
                    // An unmatched detection outside the area range is not counted against the detector.
                    if !isMatched && !range.contains(detections[order[d]].area) { isIgnored = true }
                    if !isIgnored {
                        category.outcomes[firstOutcome + d * COCOEvalParameters.areaRanges.count + a] |=
                            isMatched ? Outcome.truePositive(t) : Outcome.falsePositive(t)
                    }
                }
            }
        }
    }

    /// pycocotools' box IoU: intersection over union, or over the detection's area for a crowd box.
    @inline(__always) static func iou(_ d: BoundingBox, _ g: BoundingBox, crowd: Bool) -> Double {
        let w = min(d.width + d.x, g.width + g.x) - max(d.x, g.x)
        if w <= 0 { return 0 }
        let h = min(d.height + d.y, g.height + g.y) - max(d.y, g.y)
        if h <= 0 { return 0 }
        let intersection = w * h
        let detectionArea = d.width * d.height
        let union = crowd ? detectionArea : detectionArea + g.width * g.height - intersection
        return intersection / union
    }
}
