extension Tensor {
    /// `torch.cat` along `dim`: all tensors have the same shape except at `dim`.
    public static func concat(_ tensors: [Tensor], dim: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat: no tensors")
        let first = tensors[0]
        let d = first.normalizedDim(dim, "concat")
        for t in tensors {
            precondition(t.rank == first.rank && t.shape.enumerated().allSatisfy { $0.offset == d || $0.element == first.shape[$0.offset] },
                         "concat: shapes \(tensors.map(\.shape)) differ outside dim \(d)")
        }
        var outShape = first.shape
        outShape[d] = tensors.reduce(0) { $0 + $1.shape[d] }
        let outer = first.shape[..<d].reduce(1, *)
        let inner = first.shape[(d + 1)...].reduce(1, *)
        let outRow = outShape[d] * inner
        return Tensor(uninitializedShape: outShape) { out in
            var offset = 0
            for t in tensors {
                let run = t.shape[d] * inner
                t.withPointer { src in
                    for o in 0..<outer { (out + o * outRow + offset).update(from: src + o * run, count: run) }
                }
                offset += run
            }
        }
    }

    /// `torch.narrow`: `length` entries of `dim` from `start`.
    public func narrowed(dim: Int, start: Int, length: Int) -> Tensor {
        let d = normalizedDim(dim, "narrowed")
        precondition(start >= 0 && length >= 0 && start + length <= shape[d],
                     "narrowed: \(start)..<\(start + length) out of range for dim \(d) of \(shape)")
        var outShape = shape
        outShape[d] = length
        let outer = shape[..<d].reduce(1, *)
        let inner = shape[(d + 1)...].reduce(1, *)
        let run = length * inner, row = shape[d] * inner
        return Tensor(uninitializedShape: outShape) { out in
            withPointer { src in
                for o in 0..<outer { (out + o * run).update(from: src + o * row + start * inner, count: run) }
            }
        }
    }

    /// `torch.split` with explicit sizes along `dim` (they must add up to the dimension).
    public func split(sizes: [Int], dim: Int) -> [Tensor] {
        let d = normalizedDim(dim, "split")
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[d],
                     "split: sizes \(sizes) do not add up to \(shape[d]) (dim \(d) of \(shape))")
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return narrowed(dim: d, start: start, length: size)
        }
    }

    /// `torch.split(x, size, dim)`: pieces of `size` along `dim`, the last one smaller if it does not divide.
    public func split(size: Int, dim: Int) -> [Tensor] {
        let d = normalizedDim(dim, "split")
        precondition(size > 0, "split: size must be positive")
        let n = shape[d]
        if n == 0 { return [self] }
        return split(sizes: stride(from: 0, to: n, by: size).map { Swift.min(size, n - $0) }, dim: d)
    }

    /// `torch.chunk`: `chunks` pieces of ceil(n / chunks) along `dim` (the last smaller; fewer pieces when
    /// the size does not allow `chunks`, as PyTorch does).
    public func chunked(_ chunks: Int, dim: Int) -> [Tensor] {
        precondition(chunks > 0, "chunked: chunks must be positive")
        let d = normalizedDim(dim, "chunked")
        let n = shape[d]
        let size = (n + chunks - 1) / chunks
        if size == 0 { return [Tensor](repeating: self, count: chunks) }
        return split(size: size, dim: d)
    }
}
