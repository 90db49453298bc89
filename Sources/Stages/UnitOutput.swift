import Datasets

/// An item a stage dropped, and why. Counted per reason in the run report.
public struct DroppedItem: Codable, Hashable, Sendable {
    public var imageId: Int
    public var fileName: String
    /// A short, stable reason code: "small-objects", "no-boxes", "corrupt-image", ...
    public var reason: String
    public var message: String?

    public init(imageId: Int, fileName: String, reason: String, message: String? = nil) {
        self.imageId = imageId
        self.fileName = fileName
        self.reason = reason
        self.message = message
    }
}

/// The result of one unit of work of one stage: the items it passes on plus what it dropped, counted and
/// ran into. This is what a checkpoint holds.
public struct UnitOutput: Codable, Sendable {
    public var items: [DatasetItem]
    public var dropped: [DroppedItem]
    /// Named counts ("boxes-dropped-crowd": 3), summed over units in the report.
    public var counters: [String: Int]
    public var issues: [LoadIssue]
    /// In-memory hand-over to a fused successor stage (e.g. UNet feature taps for the adapter): never
    /// checkpointed, so only stages fused into one unit can use it.
    public var transient: [Int: any Sendable]

    public init(items: [DatasetItem] = [], dropped: [DroppedItem] = [], counters: [String: Int] = [:],
                issues: [LoadIssue] = [], transient: [Int: any Sendable] = [:]) {
        self.items = items
        self.dropped = dropped
        self.counters = counters
        self.issues = issues
        self.transient = transient
    }

    enum CodingKeys: String, CodingKey { case items, dropped, counters, issues }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        items = try c.decode([DatasetItem].self, forKey: .items)
        dropped = try c.decode([DroppedItem].self, forKey: .dropped)
        counters = try c.decode([String: Int].self, forKey: .counters)
        issues = try c.decode([LoadIssue].self, forKey: .issues)
        transient = [:]
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(dropped, forKey: .dropped)
        try c.encode(counters, forKey: .counters)
        try c.encode(issues, forKey: .issues)
    }

    public mutating func count(_ counter: String, _ n: Int = 1) {
        if n != 0 { counters[counter, default: 0] += n }
    }

    public mutating func drop(_ item: DatasetItem, reason: String, message: String? = nil) {
        dropped.append(DroppedItem(imageId: item.image.id, fileName: item.image.fileName, reason: reason, message: message))
    }
}
