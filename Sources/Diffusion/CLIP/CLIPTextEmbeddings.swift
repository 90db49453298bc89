import Tensors

/// transformers' `CLIPTextEmbeddings`: token embedding plus learned absolute position embedding
/// (positions 0..<tokens), no normalisation.
///
/// Keys: `token_embedding.weight` (vocab_size, hidden_size), `position_embedding.weight`
/// (max_position_embeddings, hidden_size). Checkpoints written by transformers 4 also hold
/// `position_ids`, an I64 buffer (0..<max_position_embeddings); it is marked used and not read.
public struct CLIPTextEmbeddings: Sendable {
    /// (vocab_size, hidden_size).
    public let tokenEmbedding: Tensor
    /// (max_position_embeddings, hidden_size).
    public let positionEmbedding: Tensor

    public init(_ weights: WeightLoader, config: CLIPTextConfig) throws {
        tokenEmbedding = try weights.scoped("token_embedding").tensor("weight", shape: [config.vocabSize, config.hiddenSize])
        positionEmbedding = try weights.scoped("position_embedding")
            .tensor("weight", shape: [config.maxPositionEmbeddings, config.hiddenSize])
        weights.markUsed("position_ids")
    }

    public var vocabSize: Int { tokenEmbedding.shape[0] }
    public var hiddenSize: Int { tokenEmbedding.shape[1] }
    public var maxPositions: Int { positionEmbedding.shape[0] }

    /// (batch, tokens, hidden_size) for `ids` (batch rows of equal length).
    public func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        let tokens = try Self.validate(ids, vocabSize: vocabSize, maxPositions: maxPositions)
        let d = hiddenSize
        var scalars = [Float](repeating: 0, count: ids.count * tokens * d)
        tokenEmbedding.scalars.withUnsafeBufferPointer { tok in
            positionEmbedding.scalars.withUnsafeBufferPointer { pos in
                scalars.withUnsafeMutableBufferPointer { out in
                    for (b, row) in ids.enumerated() {
                        for (t, id) in row.enumerated() {
                            let o = (b * tokens + t) * d, e = id * d, p = t * d
                            for c in 0..<d { out[o + c] = tok[e + c] + pos[p + c] }
                        }
                    }
                }
            }
        }
        return Tensor(shape: [ids.count, tokens, d], scalars: scalars)
    }

    /// The common row length, after checking the rows.
    static func validate(_ ids: [[Int]], vocabSize: Int, maxPositions: Int) throws -> Int {
        guard let first = ids.first else { throw CLIPTextInputError("no token sequences (the batch is empty)") }
        let tokens = first.count
        guard tokens > 0 else { throw CLIPTextInputError("empty token sequence") }
        for (b, row) in ids.enumerated() {
            guard row.count == tokens else {
                throw CLIPTextInputError("rows differ in length: row 0 has \(tokens) tokens, row \(b) has \(row.count) (pad every row to the same length)")
            }
            if let bad = row.firstIndex(where: { $0 < 0 || $0 >= vocabSize }) {
                throw CLIPTextInputError("token id \(row[bad]) at row \(b), position \(bad) is outside the vocabulary (0..<\(vocabSize))")
            }
        }
        guard tokens <= maxPositions else {
            throw CLIPTextInputError("sequence of \(tokens) tokens is longer than max_position_embeddings (\(maxPositions)); truncate to \(maxPositions)")
        }
        return tokens
    }
}
