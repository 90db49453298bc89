/// A dataset category. Ids are the dataset's own (COCO's are non-contiguous, 1...90); never assume 0..<n.
public struct Category: Codable, Hashable, Sendable {
    public var id: Int
    public var name: String
    public var supercategory: String?

    public init(id: Int, name: String, supercategory: String? = nil) {
        self.id = id
        self.name = name
        self.supercategory = supercategory
    }
}
