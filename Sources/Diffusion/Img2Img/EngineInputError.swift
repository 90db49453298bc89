/// An input the engine was called with that it cannot use (an image of the wrong shape, feature taps that do not fit
/// an adapter): names the input, the field when there is one, what is wrong and how to fix it. Errors in a model
/// folder are `ModelLoadError`.
public struct EngineInputError: Error, CustomStringConvertible, Sendable {
    /// What was passed: "input image", "feature taps".
    public var input: String
    public var key: String?
    public var message: String
    public var hint: String?

    public init(input: String, key: String? = nil, message: String, hint: String? = nil) {
        self.input = input
        self.key = key
        self.message = message
        self.hint = hint
    }

    public var description: String {
        var s = input
        if let key { s += ": `\(key)`" }
        s += ": \(message)"
        if let hint { s += "\n  hint: \(hint)" }
        return s
    }
}
