/// Parsing a COCO captions file: only its `annotations` (id, image_id, caption) are read; its own `images`
/// list is ignored, because the images come from the instances file.
extension COCOParser {
    /// Captions in file order. Captions of images the dataset does not have are skipped with a LoadIssue;
    /// captions of images refused for an unsafe file name are skipped silently (the image has its issue).
    mutating func parseCaptions(imageIds: Set<Int>, refusedImageIds: Set<Int>, issues: inout [LoadIssue]) throws -> [Caption] {
        var captions: [Caption] = []
        var saw = false
        try topLevel { p, key in
            if p.s.key(key, is: "annotations") {
                try p.once(&saw, "annotations", key)
                try p.list("annotations", kind: "caption") { p, index, at in
                    guard let caption = try p.caption(index, at) else { return }
                    if imageIds.contains(caption.imageId) {
                        captions.append(caption)
                    } else if !refusedImageIds.contains(caption.imageId) {
                        issues.append(LoadIssue(kind: .unknownImage, file: p.file,
                                                record: COCOParser.record("caption", index, id: caption.id),
                                                message: "refers to image id \(caption.imageId), which is not in the instances file's images; "
                                                    + "skipped (check that the instances and captions files belong to the same split)"))
                    }
                }
            } else {
                try p.s.skipValue()
            }
        }
        if !saw {
            throw DatasetError(file: file, message: "there is no \"annotations\" list of captions",
                               hint: "check that this is a COCO captions file (captions_*.json)")
        }
        return captions
    }

    mutating func caption(_ index: Int, _ at: Int) throws -> Caption? {
        var id: Int?, imageId: Int?, text: String?
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            if s.key(key, is: "id") { id = try int("id") }
            else if s.key(key, is: "image_id") { imageId = try int("image_id") }
            else if s.key(key, is: "caption") { text = try string("caption") }
            else { try s.skipValue() }
        }
        let record = COCOParser.record("caption", index, id: id)
        try throwProblem(record: record)
        guard let id else { throw missing("id", record: record, at: at) }
        guard let imageId else { throw missing("image_id", record: record, at: at) }
        guard let text else {
            throw missing("caption", record: record, at: at,
                          hint: "each caption record needs \"caption\" text; if this is an instances file, pass it as the instances file instead")
        }
        return Caption(id: id, imageId: imageId, text: text)
    }
}
