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

    public init(items: [DatasetItem] = [], dropped: [DroppedItem] = [], counters: [String: Int] = [:], issues: [LoadIssue] = []) {
        self.items = items
        self.dropped = dropped
        self.counters = counters
        self.issues = issues
    }

    public mutating func count(_ counter: String, _ n: Int = 1) {
        if n != 0 { counters[counter, default: 0] += n }
    }

    public mutating func drop(_ item: DatasetItem, reason: String, message: String? = nil) {
        dropped.append(DroppedItem(imageId: item.image.id, fileName: item.image.fileName, reason: reason, message: message))
    }
}
