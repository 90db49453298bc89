import Datasets
/// COCO box evaluation: pycocotools' `COCOeval(gt, dt, 'bbox')` with its default parameters, `evaluate()` and
/// `accumulate()`, reimplemented step by step so that the numbers agree (`COCOEvalSummary` is `summarize()`).
///
/// As in pycocotools: the images are the ground truth's images and the categories its categories (ascending
/// ids); a ground truth box counts by its annotation's `area`, a detection by `width * height`; crowd boxes
/// (`iscrowd`) are matched by intersection over the detection's area, may take many detections, and neither
/// count as misses nor let their detections count as false positives; an `ignore` field is not read
/// (pycocotools overwrites it with `iscrowd`). Each image keeps its 100 best-scored detections per category,
/// ties in file order.
///
/// Work is proportional to the boxes: one pass over (image, category) pairs that have boxes, then one sorted
/// pass per category; COCO val2017 with 100 detections per image takes well under a second in release.
public enum COCOEvaluator {
    public static func evaluate(groundTruth: DetectionDataset, detections: [COCODetection]) -> COCOEvaluation {
        let imageIds = Array(Set(groundTruth.images.lazy.map(\.id))).sorted()
        let categoryIds = Array(Set(groundTruth.categories.lazy.map(\.id))).sorted()
        var evaluation = COCOEvaluation(imageIds: imageIds, categoryIds: categoryIds)
        let imageIndex = COCOIdIndex(imageIds)
        let categoryIndex = COCOIdIndex(categoryIds)
        let imageCount = imageIds.count

        /// (image, category) pairs ordered category first, then image, as `accumulate` walks them.
        func cell(_ imageId: Int, _ categoryId: Int) -> Int? {
            guard let i = imageIndex.position(of: imageId), let k = categoryIndex.position(of: categoryId) else { return nil }
            return k * imageCount + i
        }

        // Ground truth and detections grouped by cell, file order inside a cell.
        var truthCells: [(cell: Int, index: Int)] = []
        truthCells.reserveCapacity(groundTruth.annotations.count)
        for (j, a) in groundTruth.annotations.enumerated() {
            if let c = cell(a.imageId, a.categoryId) { truthCells.append((c, j)) } else { evaluation.annotationsLeftOut += 1 }
        }
        truthCells.sort { $0.cell < $1.cell || ($0.cell == $1.cell && $0.index < $1.index) }
        let truths = truthCells.map { entry -> COCOImageMatching.Truth in
            let a = groundTruth.annotations[entry.index]
            return COCOImageMatching.Truth(box: a.bbox, area: a.area, isCrowd: a.isCrowd, idIsZero: a.id == 0)
        }
        evaluation.annotationsWithIdZero = truths.lazy.filter(\.idIsZero).count

        var detectionCells: [(cell: Int, index: Int)] = []
        detectionCells.reserveCapacity(detections.count)
        for (j, d) in detections.enumerated() {
            if let c = cell(d.imageId, d.categoryId) { detectionCells.append((c, j)) } else { evaluation.detectionsLeftOut += 1 }
        }
        detectionCells.sort { $0.cell < $1.cell || ($0.cell == $1.cell && $0.index < $1.index) }
        let sortedDetections = detectionCells.map { detections[$0.index] }

        var matching = COCOImageMatching()
        var category = COCOCategoryDetections()
        var currentCategory = -1
        var t = 0, d = 0
        while t < truthCells.count || d < detectionCells.count {
            let c = min(t < truthCells.count ? truthCells[t].cell : .max, d < detectionCells.count ? detectionCells[d].cell : .max)
            let k = c / imageCount
            if k != currentCategory {
                if currentCategory >= 0 { category.accumulate(category: currentCategory, into: &evaluation) }
                category.reset()
                currentCategory = k
            }
            let t0 = t, d0 = d
            while t < truthCells.count && truthCells[t].cell == c { t += 1 }
            while d < detectionCells.count && detectionCells[d].cell == c { d += 1 }
            matching.evaluate(truths: truths[t0..<t], detections: sortedDetections[d0..<d], into: &category)
        }
        if currentCategory >= 0 { category.accumulate(category: currentCategory, into: &evaluation) }
        return evaluation
    }
}
