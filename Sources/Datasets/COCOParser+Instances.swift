/// Parsing a COCO instances file (`images`, `annotations`, `categories`, `info`, `licenses`) into records,
/// in file order. Cross-record checks (unknown ids, boxes, unsafe paths) happen afterwards, in
/// `COCOInstancesContent.validated`, because COCO puts `categories` after `annotations`.
extension COCOParser {
    mutating func parseInstances() throws -> COCOInstancesContent {
        var c = COCOInstancesContent()
        try topLevel { p, key in
            if p.s.key(key, is: "annotations") {
                try p.once(&c.sawAnnotations, "annotations", key)
                // COCO annotations take ~500 bytes each (polygons); reserving for that many avoids the copies and
                // page faults of growing an array of 860k. Capacity never touched is never resident.
                c.annotations.reserveCapacity(p.s.count / 400)
                try p.list("annotations", kind: "annotation") { p, index, at in try p.annotation(index, at, into: &c) }
            } else if p.s.key(key, is: "images") {
                try p.once(&c.sawImages, "images", key)
                try p.list("images", kind: "image") { p, index, at in try p.image(index, at, into: &c) }
            } else if p.s.key(key, is: "categories") {
                try p.once(&c.sawCategories, "categories", key)
                try p.list("categories", kind: "category") { p, index, at in try p.category(index, at, into: &c) }
            } else if p.s.key(key, is: "info") {
                c.info = try p.raw()
            } else if p.s.key(key, is: "licenses") {
                c.licenses = try p.raw()
            } else {
                try p.s.skipValue()
            }
        }
        c.imageIndex = COCOIdIndex(c.images.lazy.map(\.id))
        if let (id, first, second) = c.imageIndex.duplicate {
            throw recordError(COCOParser.record("image", second, id: id), at: c.imageOffsets[second],
                              "duplicate image id \(id): image #\(first) has the same id",
                              hint: "image ids must be unique: re-export the file, or give one of the two images a new id")
        }
        c.imageOffsets = []
        if !c.sawImages {
            throw DatasetError(file: file, message: "there is no \"images\" list",
                               hint: "a COCO instances file needs \"images\", \"annotations\" and \"categories\": check that this is one")
        }
        if !c.sawCategories && !c.annotations.isEmpty {
            throw DatasetError(file: file, message: "there is no \"categories\" list, but there are annotations",
                               hint: "a COCO instances file needs \"categories\": re-export the file with its categories")
        }
        return c
    }

    /// Refuses a second occurrence of a top-level list (JSON would silently keep the last one).
    mutating func once(_ seen: inout Bool, _ name: String, _ key: JSONStringToken) throws {
        if seen {
            throw DatasetError(file: file, location: s.location(of: key.start - 1),
                               message: "the top-level key \"\(name)\" appears twice",
                               hint: "a file with two \"\(name)\" lists was probably concatenated or merged by hand: re-export it")
        }
        seen = true
    }

    mutating func image(_ index: Int, _ at: Int, into c: inout COCOInstancesContent) throws {
        var id: Int?, fileName: String?, width: Int?, height: Int?
        var referenceImageId: Int?, variant: Int?, seed: UInt64?, encodeRatio: Double?, guidance: Double?
        var scheduler: String?, steps: Int?, tapTimestep: Int?, prompt: String?
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            if s.key(key, is: "id") { id = try int("id") }
            else if s.key(key, is: "file_name") { fileName = try string("file_name") }
            else if s.key(key, is: "width") { width = try int("width") }
            else if s.key(key, is: "height") { height = try int("height") }
            else if s.key(key, is: "reference_image_id") { referenceImageId = try optionalInt("reference_image_id") }
            else if s.key(key, is: "variant") { variant = try optionalInt("variant") }
            else if s.key(key, is: "seed") { seed = try consumeNull() ? nil : try uint64("seed") }
            else if s.key(key, is: "encode_ratio") { encodeRatio = try optionalDouble("encode_ratio") }
            else if s.key(key, is: "guidance") { guidance = try optionalDouble("guidance") }
            else if s.key(key, is: "scheduler") { scheduler = try optionalString("scheduler") }
            else if s.key(key, is: "steps") { steps = try optionalInt("steps") }
            else if s.key(key, is: "tap_timestep") { tapTimestep = try optionalInt("tap_timestep") }
            else if s.key(key, is: "prompt") { prompt = try optionalString("prompt") }
            else { try s.skipValue() }
        }
        let record = COCOParser.record("image", index, id: id)
        try throwProblem(record: record)
        guard let id else { throw missing("id", record: record, at: at) }
        guard let fileName else { throw missing("file_name", record: record, at: at) }
        guard let width else { throw missing("width", record: record, at: at) }
        guard let height else { throw missing("height", record: record, at: at) }
        guard width > 0, height > 0 else {
            throw recordError(record, at: at, "the image size \(width)x\(height) is not positive",
                              hint: "width and height must be the image's size in pixels: re-export the file, or fix the record")
        }
        var provenance: Provenance?
        if let referenceImageId {
            guard let variant else { throw missing("variant", record: record, at: at, hint: Self.provenanceHint) }
            guard let seed else { throw missing("seed", record: record, at: at, hint: Self.provenanceHint) }
            provenance = Provenance(referenceImageId: referenceImageId, variant: variant, seed: seed, encodeRatio: encodeRatio,
                                    guidance: guidance, scheduler: scheduler, steps: steps, tapTimestep: tapTimestep, prompt: prompt)
        }
        c.images.append(ImageInfo(id: id, fileName: fileName, width: width, height: height, provenance: provenance))
        c.imageOffsets.append(at)
    }

    static let provenanceHint =
        "a generated image with \"reference_image_id\" also needs \"variant\" and \"seed\": was the file edited by hand?"

    mutating func annotation(_ index: Int, _ at: Int, into c: inout COCOInstancesContent) throws {
        var id: Int?, imageId: Int?, categoryId: Int?, box: BoundingBox?, area: Double?, crowd: Bool?
        var segmentation: RawJSON?, score: Double?, attribute: String?, difficult: Bool?, truncated: Bool?
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            if s.key(key, is: "segmentation") { segmentation = try self.segmentation() }
            else if s.key(key, is: "bbox") { box = try bbox("bbox") }
            else if s.key(key, is: "area") { area = try optionalDouble("area") }
            else if s.key(key, is: "id") { id = try int("id") }
            else if s.key(key, is: "image_id") { imageId = try int("image_id") }
            else if s.key(key, is: "category_id") { categoryId = try int("category_id") }
            else if s.key(key, is: "iscrowd") { crowd = try optionalFlag("iscrowd") }
            else if s.key(key, is: "score") { score = try optionalDouble("score") }
            else if s.key(key, is: "attribute") { attribute = try optionalString("attribute") }
            else if s.key(key, is: "difficult") { difficult = try optionalFlag("difficult") }
            else if s.key(key, is: "truncated") { truncated = try optionalFlag("truncated") }
            else { try s.skipValue() }
        }
        if problem != nil || id == nil || imageId == nil || categoryId == nil || box == nil {
            let record = COCOParser.record("annotation", index, id: id)
            try throwProblem(record: record)
            guard id != nil else { throw missing("id", record: record, at: at) }
            guard imageId != nil else { throw missing("image_id", record: record, at: at) }
            guard categoryId != nil else { throw missing("category_id", record: record, at: at) }
            throw missing("bbox", record: record, at: at, hint:
                "each instance annotation needs \"bbox\": [x, y, width, height]; if this is a captions file, pass it as the captions file instead")
        }
        c.annotations.append(Annotation(id: id!, imageId: imageId!, categoryId: categoryId!, bbox: box!, area: area,
                                        isCrowd: crowd ?? false, segmentation: segmentation, difficult: difficult,
                                        truncated: truncated, score: score, attribute: attribute))
    }

    mutating func category(_ index: Int, _ at: Int, into c: inout COCOInstancesContent) throws {
        var id: Int?, name: String?, supercategory: String?
        var first = true
        var key = JSONStringToken(start: 0, end: 0, escaped: false)
        while try s.nextKey(&first, &key) {
            if s.key(key, is: "id") { id = try int("id") }
            else if s.key(key, is: "name") { name = try string("name") }
            else if s.key(key, is: "supercategory") { supercategory = try optionalString("supercategory") }
            else { try s.skipValue() }
        }
        let record = COCOParser.record("category", index, id: id)
        try throwProblem(record: record)
        guard let id else { throw missing("id", record: record, at: at) }
        guard let name else { throw missing("name", record: record, at: at) }
        if let earlier = c.categoryIndexById.updateValue(c.categories.count, forKey: id) {
            throw recordError(record, at: at, "duplicate category id \(id): category #\(earlier) (\"\(c.categories[earlier].name)\") has the same id",
                              hint: "category ids must be unique: re-export the file, or give one of the two categories a new id")
        }
        c.categories.append(Category(id: id, name: name, supercategory: supercategory))
    }
}
