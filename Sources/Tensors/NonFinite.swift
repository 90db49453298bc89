extension Tensor {
    /// The index of the first NaN or infinite scalar, nil when every scalar is finite.
    public var firstNonFiniteIndex: Int? {
        scalars.withUnsafeBufferPointer { buffer in
            for i in buffer.indices where !buffer[i].isFinite { return i }
            return nil
        }
    }

    /// How many scalars are NaN or infinite.
    public var nonFiniteCount: Int { scalars.reduce(0) { $0 + ($1.isFinite ? 0 : 1) } }
}
