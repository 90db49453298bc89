/// Token ids that the CLIP text encoder cannot take: ragged rows, a sequence longer than the position
/// table, or an id outside the vocabulary.
public struct CLIPTextInputError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "CLIP text encoder input: \(message)" }
}
