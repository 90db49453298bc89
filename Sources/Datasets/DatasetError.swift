/// An input problem that stops loading: it names the file, the record or byte offset, what is wrong and how
/// to fix it.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
    public var file: String
    /// Where in the file: "byte 1234 (line 5, column 17)", "image id 7", "annotation 12".
    public var location: String?
    public var message: String
    public var hint: String?

    public init(file: String, location: String? = nil, message: String, hint: String? = nil) {
        self.file = file
        self.location = location
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = file
        if let location { s += ", \(location)" }
        s += ": \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}
