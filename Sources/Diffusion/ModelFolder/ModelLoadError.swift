/// A model folder that cannot be used: names the file, the weight key or config field, what is wrong, and
/// what is supported or how to fix it.
public struct ModelLoadError: Error, CustomStringConvertible, Sendable {
    public var file: String
    /// The weight key (`down_blocks.0.resnets.1.conv1.weight`) or config field, when there is one.
    public var key: String?
    public var message: String
    public var hint: String?

    public init(file: String, key: String? = nil, message: String, hint: String? = nil) {
        self.file = file
        self.key = key
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = file
        if let key { s += ": `\(key)`" }
        s += ": \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}
