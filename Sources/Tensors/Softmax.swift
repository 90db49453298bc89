extension Tensor {
    /// Softmax over the last dimension: exp(x - max) / Σ exp(x - max), per row.
    public func softmax() -> Tensor {
        precondition(rank >= 1, "softmax: input needs rank >= 1")
        let d = shape[rank - 1]
        let rows = d == 0 ? 0 : count / d
        return Tensor(uninitializedShape: shape) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                let rowsPerUnit = max(1, (1 << 14) / max(1, d))
                parallelUnits((rows + rowsPerUnit - 1) / rowsPerUnit) { unit in
                    for row in unit * rowsPerUnit..<min(rows, (unit + 1) * rowsPerUnit) {
                        softmaxRow(src.base + row * d, dst.base + row * d, count: d, valid: d)
                    }
                }
            }
        }
    }
}

/// Softmax of src[0..<valid] into dst[0..<valid]; dst[valid..<count] = 0 (a causal mask's -inf entries).
/// src and dst may be the same buffer.
@inline(__always)
func softmaxRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int, valid: Int) {
    if valid > 0 {
        var mx = Vec8(repeating: -.infinity)
        var i = 0
        while i + 8 <= valid { mx = pointwiseMax(mx, load8(src + i)); i += 8 }
        var m = mx.max()
        while i < valid { m = Swift.max(m, src[i]); i += 1 }
        let vm = Vec8(repeating: m)
        vmap(src, dst, valid) { vexp($0 - vm) }
        let inv = Float(1 / blockedSum(dst, valid))
        let vinv = Vec8(repeating: inv)
        vmap(dst, dst, valid) { $0 * vinv }
    }
    if valid < count { (dst + valid).update(repeating: 0, count: count - valid) }
}
