extension Tensor {
    /// `torch.nn.functional.scaled_dot_product_attention`: query (..., Tq, d), key (..., Tk, d),
    /// value (..., Tk, dv) with equal leading dimensions (typically (batch, heads)); result (..., Tq, dv).
    /// `scale` defaults to 1/sqrt(d). `causal` masks key j > query i (PyTorch's `is_causal`, aligned at the
    /// top left), as CLIP's text encoder needs.
    ///
    /// Computed in blocks of query rows (QK^T by sgemm, softmax, then P V by sgemm), so at most a block of
    /// scores is held at once (about 4 MB), never Tq x Tk per head.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, scale: Float? = nil,
                                                 causal: Bool = false) -> Tensor {
        precondition(query.rank >= 2 && key.rank == query.rank && value.rank == query.rank,
                     "attention: query, key, value need the same rank >= 2: \(query.shape), \(key.shape), \(value.shape)")
        let lead = Array(query.shape.dropLast(2))
        precondition(Array(key.shape.dropLast(2)) == lead && Array(value.shape.dropLast(2)) == lead,
                     "attention: leading dimensions differ: \(query.shape), \(key.shape), \(value.shape)")
        let (tq, d) = (query.shape[query.rank - 2], query.shape[query.rank - 1])
        let (tk, dk) = (key.shape[key.rank - 2], key.shape[key.rank - 1])
        let (tv, dv) = (value.shape[value.rank - 2], value.shape[value.rank - 1])
        precondition(dk == d && tv == tk, "attention: key \(key.shape) / value \(value.shape) do not fit query \(query.shape)")
        let problems = lead.reduce(1, *)
        var out = Tensor(uninitializedShape: lead + [tq, dv]) { _ in }
        let s = scale ?? 1 / Float(d).squareRoot()
        query.withPointer { pq in
            key.withPointer { pk in
                value.withPointer { pv in
                    out.withMutablePointer { po in
                        let core = AttentionCore(tq: tq, tk: tk, d: d, dv: dv, scale: s, causal: causal)
                        core.withScratch { scratch in
                            for i in 0..<problems {
                                core.run(q: pq + i * tq * d, qStride: d, k: pk + i * tk * d, kStride: d,
                                         v: pv + i * tk * dv, vStride: dv, out: po + i * tq * dv, outStride: dv,
                                         scratch: scratch)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Multi-head attention on token-major tensors, without splitting heads into a separate layout:
    /// query (B, Tq, heads * d), key (B, Tk, heads * d), value (B, Tk, heads * dv) -> (B, Tq, heads * dv).
    /// The same as `scaledDotProductAttention` on `splitHeads(heads)` of each, then `mergeHeads()`
    /// (diffusers' Attention processor between its to_q/to_k/to_v and to_out projections).
    public static func multiHeadAttention(query: Tensor, key: Tensor, value: Tensor, heads: Int, scale: Float? = nil,
                                          causal: Bool = false) -> Tensor {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3,
                     "multiHeadAttention: query, key, value must be (B, T, heads * d): \(query.shape), \(key.shape), \(value.shape)")
        let (b, tq, qw) = (query.shape[0], query.shape[1], query.shape[2])
        let (tk, kw, vw) = (key.shape[1], key.shape[2], value.shape[2])
        precondition(key.shape[0] == b && value.shape[0] == b && value.shape[1] == tk,
                     "multiHeadAttention: batch or key length differ: \(query.shape), \(key.shape), \(value.shape)")
        precondition(heads > 0 && qw % heads == 0 && kw == qw && vw % heads == 0,
                     "multiHeadAttention: widths \(qw), \(kw), \(vw) do not split into \(heads) heads")
        let d = qw / heads, dv = vw / heads
        var out = Tensor(uninitializedShape: [b, tq, vw]) { _ in }
        let s = scale ?? 1 / Float(d).squareRoot()
        query.withPointer { pq in
            key.withPointer { pk in
                value.withPointer { pv in
                    out.withMutablePointer { po in
                        let core = AttentionCore(tq: tq, tk: tk, d: d, dv: dv, scale: s, causal: causal)
                        core.withScratch { scratch in
                            for i in 0..<b {
                                for h in 0..<heads {
                                    core.run(q: pq + i * tq * qw + h * d, qStride: qw, k: pk + i * tk * kw + h * d, kStride: kw,
                                             v: pv + i * tk * vw + h * dv, vStride: vw, out: po + i * tq * vw + h * dv,
                                             outStride: vw, scratch: scratch)
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// One attention problem (one batch element and head) on strided row-major matrices.
struct AttentionCore {
    let tq, tk, d, dv: Int
    let scale: Float
    let causal: Bool
    /// Scores held at once (16 MB: at SD's 4096 tokens, 1024 query rows per block measured ~10 % faster than 256); tests lower it to exercise several blocks on small inputs.
    // Unsafe: tests lower it before computing; never written while kernels run.
    nonisolated(unsafe) static var scoreBudget = 1 << 22
    /// Query rows per block, fixed by the sizes alone (never by the thread count).
    var blockRows: Int { Swift.max(1, Swift.min(tq, AttentionCore.scoreBudget / Swift.max(1, tk))) }

    func withScratch(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * (tk + 1))
        defer { scratch.deallocate() }
        body(scratch)
    }

    func run(q: UnsafePointer<Float>, qStride: Int, k: UnsafePointer<Float>, kStride: Int,
             v: UnsafePointer<Float>, vStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
             scratch: UnsafeMutablePointer<Float>) {
        guard tq > 0, dv > 0 else { return }
        if tk == 0 {
            // Softmax over nothing: PyTorch yields NaN rows.
            for i in 0..<tq { (out + i * outStride).update(repeating: .nan, count: dv) }
            return
        }
        let block = blockRows
        let rowScale = scratch + block * tk
        var r0 = 0
        while r0 < tq {
            let rows = Swift.min(block, tq - r0)
            // Keys past the block's last query are masked for every row of a causal block.
            let cols = causal ? Swift.min(tk, r0 + rows) : tk
            sgemm(transB: true, m: rows, n: cols, k: d, alpha: scale, a: q + r0 * qStride, lda: qStride,
                  b: k, ldb: kStride, c: scratch, ldc: cols)
            // exp(s - rowmax) in place; the division by the row sum is applied to the output rows below
            // (dv values per row rather than cols).
            let scores = SharedPointer(scratch), scales = SharedPointer(rowScale)
            let (first, isCausal) = (r0, causal)
            parallelRanges(rows) { range in
                for i in range {
                    let row = scores.base + i * cols
                    let valid = isCausal ? Swift.min(cols, first + i + 1) : cols
                    scales.base[i] = Float(1 / exponentiateRow(row, row, valid))
                    if valid < cols { (row + valid).update(repeating: 0, count: cols - valid) }
                }
            }
            sgemm(m: rows, n: dv, k: cols, a: scratch, lda: cols, b: v, ldb: vStride,
                  c: out + r0 * outStride, ldc: outStride)
            // rows x dv multiplications: less work than waking threads for it.
            for i in 0..<rows {
                let row = out + (r0 + i) * outStride, f = Vec8(repeating: rowScale[i])
                vmap(row, row, dv) { $0 * f }
            }
            r0 += rows
        }
    }
}
