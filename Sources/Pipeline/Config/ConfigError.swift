import Datasets

/// A problem in a pipeline file: names the file, the line and column, what is wrong and what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var hint: String?

    public init(file: String, line: Int? = nil, column: Int? = nil, message: String, hint: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = file
        if let line { s += ":\(line)" + (column.map { ":\($0)" } ?? "") }
        s += ": \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
func nearest(_ word: String, in candidates: [String]) -> String? {
    NearestName.suggestion(for: word, among: candidates)
}
