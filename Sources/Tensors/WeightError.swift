/// A weight file or weight key that cannot be used: names the file, the tensor key when there is one, what is
/// wrong, and how to fix it. Thrown by `SafeTensorsFile`, `SafeTensorsWriter` and `WeightLoader`; the
/// Diffusion target turns it into a `ModelLoadError` with the same fields.
public struct WeightError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file (path as opened), or for a sharded checkpoint the index file.
    public var file: String
    /// The full tensor key (`down_blocks.0.resnets.1.conv1.weight`), when there is one.
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

    /// The hint for a file whose bytes are not a valid safetensors file.
    static let corruptHint = "the file is corrupted or not a safetensors file: re-download or re-export it "
        + "(diffusers/transformers `save_pretrained(..., safe_serialization=True)` or safetensors `save_file`)"
}
