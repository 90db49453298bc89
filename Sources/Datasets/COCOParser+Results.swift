/// Parsing a COCO results file: one top-level array of detections
/// `[{"image_id": 42, "category_id": 18, "bbox": [x, y, width, height], "score": 0.87}, ...]`.
/// Other keys (`segmentation`, `area`, `id`, `iscrowd`, ...) are skipped: box evaluation recomputes them.
extension COCOParser {
    static let resultsShapeHint = """
        a results file is a JSON array like [{"image_id": 1, "category_id": 3, "bbox": [x, y, width, height], \
        "score": 0.9}, ...]; a COCO instances file (an object with "images" and "annotations") is the ground truth, \
        given with --gt
        """

    /// Reads every detection, checking each against the ground truth's image ids (when given) and category ids.
    mutating func parseResults(groundTruthImages: COCOIdIndex?, groundTruthCategories: COCOIdIndex,
                               describeCategories: () -> String) throws -> [COCODetection] {
        s.skipByteOrderMark()
        s.skipWhitespace()
        guard s.current == UInt8(ascii: "[") else {
            if s.valueKind == .invalid { try s.skipValue() }  // throws the syntax error
            throw DatasetError(file: file, location: s.location(of: s.pos),
                               message: "a results file must be a JSON array of detections, found \(s.valueKind.phrase)",
                               hint: Self.resultsShapeHint)
        }
        s.pos += 1
        var detections: [COCODetection] = []
        detections.reserveCapacity(s.count / 80)
        var first = true
        var index = 0
        while try s.nextElement(&first) {
            let at = s.pos
            guard s.current == UInt8(ascii: "{") else {
                if s.valueKind == .invalid { try s.skipValue() }
                throw recordError(COCOParser.record("detection", index, id: nil), at: at,
                                  "must be an object, found \(s.valueKind.phrase)", hint: Self.resultsShapeHint)
            }
            s.pos += 1
            problem = nil
            let d = try detection(index, at)
            guard groundTruthImages.map({ $0.position(of: d.imageId) != nil }) ?? true else {
                throw recordError(COCOParser.record("detection", index, id: nil), at: at,
                                  "image_id \(d.imageId) is not an image of the ground truth",
                                  hint: "evaluate against the instances file the detections were made for "
                                      + "(pycocotools refuses this too: \"Results do not correspond to current coco set\")")
            }
            guard groundTruthCategories.position(of: d.categoryId) != nil else {
                throw recordError(COCOParser.record("detection", index, id: nil), at: at,
                                  "category_id \(d.categoryId) is not a category of the ground truth (\(describeCategories()))",
                                  hint: "detections must use the ground truth's category ids: a model that numbers its classes "
                                      + "0..K-1 needs them mapped back to the dataset's ids (COCO's are 1..90 with gaps)")
            }
            detections.append(d)
            index += 1
        }
        s.skipWhitespace()
        guard s.atEnd else { throw s.syntaxError("the end of the file after the top-level array") }
        return detections
    }

    mutating func detection(_ index: Int, _ at: Int) throws -> COCODetection {
        var imageId: Int?, categoryId: Int?, box: BoundingBox?, score: Double?
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            if s.key(key, is: "bbox") { box = try bbox("bbox") }
            else if s.key(key, is: "score") { score = try double("score") }
            else if s.key(key, is: "image_id") { imageId = try int("image_id") }
            else if s.key(key, is: "category_id") { categoryId = try int("category_id") }
            else { try s.skipValue() }
        }
        let record = COCOParser.record("detection", index, id: nil)
        try throwProblem(record: record)
        let hint = "each detection needs \"image_id\", \"category_id\", \"bbox\" [x, y, width, height] and \"score\""
        guard let imageId else { throw missing("image_id", record: record, at: at, hint: hint) }
        guard let categoryId else { throw missing("category_id", record: record, at: at, hint: hint) }
        guard let box else { throw missing("bbox", record: record, at: at, hint: hint) }
        guard let score else { throw missing("score", record: record, at: at, hint: hint) }
        return COCODetection(imageId: imageId, categoryId: categoryId, bbox: box, score: score)
    }
}
