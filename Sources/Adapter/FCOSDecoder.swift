import Tensors

/// Turns the head's outputs into detections (docs/adapter.md, "Decoding"): per level, scores
/// sqrt(sigmoid(cls) * sigmoid(centerness)) above the threshold, the top k of each level, boxes around each
/// location's point, clipped to the image, class-wise NMS, at most `maxDetections`.
struct FCOSDecoder: Sendable {
    let config: AdapterConfig

    /// Candidates of batch element `index` in the documented order: levels ascending, within a level by score
    /// descending, ties by location then class (a stable sort of the location-major, class-minor order).
    func candidates(_ outputs: [FCOSLevelOutput], index: Int = 0) -> [DetectionCandidate] {
        var result: [DetectionCandidate] = []
        for (level, output) in outputs.enumerated() {
            let (k, h, w) = (output.classLogits.shape[1], output.classLogits.shape[2], output.classLogits.shape[3])
            let plane = h * w
            let probabilities = output.classLogits.narrowed(dim: 0, start: index, length: 1).sigmoid().scalars
            let centerness = output.centerness.narrowed(dim: 0, start: index, length: 1).sigmoid().scalars
            let distances = output.distances.narrowed(dim: 0, start: index, length: 1).scalars
            var passing: [(flat: Int, score: Float)] = []
            for location in 0..<plane {
                for cls in 0..<k {
                    let score = (probabilities[cls * plane + location] * centerness[location]).squareRoot()
                    if score > config.scoreThreshold { passing.append((location * k + cls, score)) }
                }
            }
            let kept = passing.enumerated().sorted { a, b in
                a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
            }.prefix(config.preNMSTopK)
            let stride = Float(output.stride)
            for (_, candidate) in kept {
                let location = candidate.flat / k
                let px = (Float(location % w) + 0.5) * stride, py = (Float(location / w) + 0.5) * stride
                let d = (0..<4).map { distances[$0 * plane + location] }
                result.append(DetectionCandidate(box: (px - d[0], py - d[1], px + d[2], py + d[3]), score: candidate.score,
                                                 classIndex: candidate.flat % k, level: level, location: location))
            }
        }
        return result
    }

    /// The detections of an image of `height` x `width` pixels, and which candidates they are.
    func detect(_ candidates: [DetectionCandidate], height: Int, width: Int) -> (detections: [Detection], kept: [Int]) {
        let (w, h) = (Float(width), Float(height))
        let clipped = candidates.map { c in
            (x0: min(max(c.box.x0, 0), w), y0: min(max(c.box.y0, 0), h), x1: min(max(c.box.x1, 0), w), y1: min(max(c.box.y1, 0), h))
        }
        let order = candidates.indices.sorted { a, b in
            candidates[a].score != candidates[b].score ? candidates[a].score > candidates[b].score : a < b
        }
        let survivors = ClasswiseNMS.keep(boxes: order.map { clipped[$0] }, classes: order.map { candidates[$0].classIndex },
                                          iouThreshold: config.nmsIoU, acrossClasses: config.nms == .agnostic)
        let kept = survivors.prefix(config.maxDetections).map { order[$0] }
        let detections = kept.map { i in
            let b = clipped[i], c = candidates[i]
            return Detection(x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, score: c.score, classIndex: c.classIndex,
                             categoryId: config.classes[c.classIndex].categoryId)
        }
        return (detections, Array(kept))
    }
}
