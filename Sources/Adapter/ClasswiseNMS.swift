/// Greedy non-maximum suppression on boxes already sorted by score (descending): a box is dropped when its IoU
/// with a kept box of the same class (`acrossClasses`: of any class) exceeds the threshold. IoU on continuous
/// coordinates, computed in Float in the same order as tools/adapter_model.py so that decisions agree.
enum ClasswiseNMS {
    static func keep(boxes: [(x0: Float, y0: Float, x1: Float, y1: Float)], classes: [Int], iouThreshold: Float,
                     acrossClasses: Bool = false) -> [Int] {
        let areas = boxes.map { max($0.x1 - $0.x0, 0) * max($0.y1 - $0.y0, 0) }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var kept: [Int] = []
        for i in boxes.indices where !suppressed[i] {
            kept.append(i)
            let a = boxes[i]
            for j in (i + 1)..<boxes.count where !suppressed[j] && (acrossClasses || classes[j] == classes[i]) {
                let b = boxes[j]
                let iw = max(min(a.x1, b.x1) - max(a.x0, b.x0), 0)
                let ih = max(min(a.y1, b.y1) - max(a.y0, b.y0), 0)
                let inter = iw * ih
                let union = areas[i] + areas[j] - inter
                let iou = union > 0 ? inter / union : 0
                if iou > iouThreshold { suppressed[j] = true }
            }
        }
        return kept
    }
}
