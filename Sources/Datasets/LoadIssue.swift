/// Something wrong in the input that the loader survived: the record was skipped, clipped or converted.
/// Collected, counted by kind, and listed in the run report.
public struct LoadIssue: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case unknownImage = "unknown-image"
        case unknownCategory = "unknown-category"
        case boxClipped = "box-clipped"
        case boxDropped = "box-dropped"
        case malformedRecord = "malformed-record"
        case unknownClass = "unknown-class"
        case missingImage = "missing-image"
        case corruptImage = "corrupt-image"
        case convertedImage = "converted-image"
        case unsafePath = "unsafe-path"
        case sizeMismatch = "size-mismatch"
        /// Written under another name than its own (a name the output format cannot hold).
        case renamedImage = "renamed-image"
    }

    public var kind: Kind
    public var file: String
    /// The record, as a person finds it: "annotation id 42", "image 000005".
    public var record: String
    public var message: String

    public init(kind: Kind, file: String, record: String, message: String) {
        self.kind = kind
        self.file = file
        self.record = record
        self.message = message
    }
}
