extension Tensor {
    /// A tensor whose scalars `initialize` writes, every one of them (the buffer starts uninitialised).
    @inline(__always)
    init(uninitializedShape shape: [Int], _ initialize: (UnsafeMutablePointer<Float>) -> Void) {
        let n = shape.reduce(1, *)
        let scalars = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            if n > 0 { initialize(buffer.baseAddress!) }
            initialized = n
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// Read-only access to the scalars as a raw pointer (valid only inside `body`).
    @inline(__always)
    func withPointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer { buffer in
            // An empty array may have no storage; hand out a dangling but never-read pointer then.
            try body(buffer.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!)
        }
    }

    /// Mutable access to the scalars as a raw pointer (valid only inside `body`).
    @inline(__always)
    mutating func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try scalars.withUnsafeMutableBufferPointer { buffer in
            try body(buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: MemoryLayout<Float>.alignment)!)
        }
    }

    /// `dim` made non-negative (PyTorch style: -1 is the last dimension).
    func normalizedDim(_ dim: Int, _ op: String) -> Int {
        let d = dim < 0 ? dim + rank : dim
        precondition(d >= 0 && d < rank, "\(op): dim \(dim) out of range for shape \(shape)")
        return d
    }
}

/// A raw pointer that may be captured by the closures run on several threads (each writes disjoint parts).
// Unchecked: a raw pointer; users write disjoint ranges from each thread (see parallelUnits).
struct SharedPointer: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}
