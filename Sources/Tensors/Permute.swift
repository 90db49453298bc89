extension Tensor {
    /// `torch.permute` materialised: result dim i is input dim `dims[i]`.
    ///
    /// Dimensions that stay adjacent are merged first; then either the innermost output dimension is
    /// contiguous in the input (runs are copied), or the copy is a batch of 2-D transposes done in tiles.
    public func permuted(_ dims: [Int]) -> Tensor {
        precondition(dims.count == rank && Set(dims) == Set(0..<rank), "permuted: \(dims) is not a permutation of 0..<\(rank)")
        let outShape = dims.map { shape[$0] }
        if dims == Array(0..<rank) || count <= 1 { return Tensor(shape: outShape, scalars: scalars) }
        let inStrides = strides
        // Collapse: out dims i and i+1 merge when in-stride(i) == in-stride(i+1) * size(i+1). Size-1 dims drop.
        var sizes: [Int] = [], strideIn: [Int] = []
        for i in 0..<rank where outShape[i] != 1 {
            let s = inStrides[dims[i]]
            if let last = sizes.indices.last, strideIn[last] == s * outShape[i] {
                sizes[last] *= outShape[i]
                strideIn[last] = s
            } else {
                sizes.append(outShape[i]); strideIn.append(s)
            }
        }
        if sizes.count <= 1 { return Tensor(shape: outShape, scalars: scalars) }
        let plan = PermutePlan(sizes: sizes, strideIn: strideIn)
        return Tensor(uninitializedShape: outShape) { out in
            withPointer { src in plan.copy(from: src, to: out) }
        }
    }

    /// Swaps two dimensions (`torch.transpose(d0, d1)`, materialised).
    public func transposed(_ d0: Int, _ d1: Int) -> Tensor {
        let a = normalizedDim(d0, "transposed"), b = normalizedDim(d1, "transposed")
        var dims = Array(0..<rank)
        dims.swapAt(a, b)
        return permuted(dims)
    }

    /// (B, C, H, W) -> (B, H*W, C): a feature map as a token sequence (diffusers' Transformer2DModel input).
    public func nchwToTokens() -> Tensor {
        precondition(rank == 4, "nchwToTokens: input must be (B, C, H, W), got \(shape)")
        return reshaped([shape[0], shape[1], shape[2] * shape[3]]).permuted([0, 2, 1])
    }

    /// (B, H*W, C) -> (B, C, H, W).
    public func tokensToNCHW(height: Int, width: Int) -> Tensor {
        precondition(rank == 3 && shape[1] == height * width,
                     "tokensToNCHW: input \(shape) is not (B, \(height)*\(width), C)")
        return permuted([0, 2, 1]).reshaped([shape[0], shape[2], height, width])
    }

    /// (B, T, heads*d) -> (B, heads, T, d).
    public func splitHeads(_ heads: Int) -> Tensor {
        precondition(rank == 3 && heads > 0 && shape[2] % heads == 0, "splitHeads: \(shape) does not split into \(heads) heads")
        return reshaped([shape[0], shape[1], heads, shape[2] / heads]).permuted([0, 2, 1, 3])
    }

    /// (B, heads, T, d) -> (B, T, heads*d).
    public func mergeHeads() -> Tensor {
        precondition(rank == 4, "mergeHeads: input must be (B, heads, T, d), got \(shape)")
        return permuted([0, 2, 1, 3]).reshaped([shape[0], shape[2], shape[1] * shape[3]])
    }
}

/// A permutation copy over collapsed dims (output row-major; `strideIn` are the input strides).
struct PermutePlan {
    let sizes: [Int]
    let strideIn: [Int]

    func copy(from src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>) {
        let r = sizes.count
        let s = SharedPointer(UnsafeMutablePointer(mutating: src)), d = SharedPointer(dst)
        if strideIn[r - 1] == 1 {
            // Contiguous runs of the innermost dim.
            let run = sizes[r - 1]
            let outer = Array(sizes.dropLast()), outerStrides = Array(strideIn.dropLast())
            let rows = outer.reduce(1, *)
            let rowsPerUnit = Swift.max(1, (1 << 14) / run)
            parallelUnits((rows + rowsPerUnit - 1) / rowsPerUnit) { unit in
                for row in unit * rowsPerUnit..<Swift.min(rows, (unit + 1) * rowsPerUnit) {
                    (d.base + row * run).update(from: s.base + offset(row, outer, outerStrides), count: run)
                }
            }
            return
        }
        // Some out dim j has input stride 1: transpose tiles of (dim j) x (last dim), batched over the rest.
        let j = strideIn.firstIndex(of: 1)!
        let (nj, nl, sl) = (sizes[j], sizes[r - 1], strideIn[r - 1])
        var outStrides = [Int](repeating: 1, count: r)
        for i in stride(from: r - 2, through: 0, by: -1) { outStrides[i] = outStrides[i + 1] * sizes[i + 1] }
        let osj = outStrides[j]
        let batchDims = (0..<r).filter { $0 != j && $0 != r - 1 }
        let bSizes = batchDims.map { sizes[$0] }, bIn = batchDims.map { strideIn[$0] }, bOut = batchDims.map { outStrides[$0] }
        let batches = bSizes.reduce(1, *)
        // 16 x 16 tiles through a small buffer: 16 input row segments of one 64-byte line each are read
        // whole, then 16 output segments written whole, so no line is touched twice even when a stride
        // is a power of two (which would thrash L1 sets with a direct strided loop).
        let t = 16
        let jTiles = (nj + t - 1) / t
        parallelUnits(batches * jTiles) { unit in
            let batch = unit / jTiles, jt = unit % jTiles
            let inBase = offset(batch, bSizes, bIn), outBase = offset(batch, bSizes, bOut)
            let j0 = jt * t, jn = Swift.min(t, nj - j0)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: t * t) { buffer in
                let buf = buffer.baseAddress!
                var l0 = 0
                while l0 < nl {
                    let ln = Swift.min(t, nl - l0)
                    for ll in 0..<ln {   // buf[ll][jj] = in[j0 + jj, l0 + ll]
                        (buf + ll * t).update(from: s.base + inBase + (l0 + ll) * sl + j0, count: jn)
                    }
                    if jn == t && ln == t {
                        // out[j0 + jj, l0 + ll] = buf[ll][jj] in 4 x 4 register transposes.
                        for bl in stride(from: 0, to: t, by: 4) {
                            for bj in stride(from: 0, to: t, by: 4) {
                                let src = buf + bl * t + bj
                                let r0 = load4(src), r1 = load4(src + t), r2 = load4(src + 2 * t), r3 = load4(src + 3 * t)
                                let o = d.base + outBase + (j0 + bj) * osj + l0 + bl
                                store4(SIMD4(r0[0], r1[0], r2[0], r3[0]), o)
                                store4(SIMD4(r0[1], r1[1], r2[1], r3[1]), o + osj)
                                store4(SIMD4(r0[2], r1[2], r2[2], r3[2]), o + 2 * osj)
                                store4(SIMD4(r0[3], r1[3], r2[3], r3[3]), o + 3 * osj)
                            }
                        }
                    } else {
                        for jj in 0..<jn {   // out[j0 + jj, l0 + ll] = buf[ll][jj]
                            let o = d.base + outBase + (j0 + jj) * osj + l0
                            for ll in 0..<ln { o[ll] = buf[ll * t + jj] }
                        }
                    }
                    l0 += ln
                }
            }
        }
    }

    @inline(__always)
    private func offset(_ index: Int, _ dims: [Int], _ strides: [Int]) -> Int {
        var rem = index, off = 0
        var i = dims.count - 1
        while i >= 0 {
            let q = rem / dims[i]
            off += (rem - q * dims[i]) * strides[i]
            rem = q
            i -= 1
        }
        return off
    }
}

@inline(__always)
private func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }

@inline(__always)
private func store4(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}
