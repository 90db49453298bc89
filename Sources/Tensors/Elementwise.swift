/// Elementwise arithmetic with PyTorch broadcasting (shapes aligned at the right, size-1 dimensions
/// stretched). Same-shape operands take a straight vector loop; broadcast ones are reduced to rows whose
/// inner run is contiguous in both operands or a repeated scalar in one of them.
extension Tensor {
    public static func + (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, "+") { $0 + $1 } }
    public static func - (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, "-") { $0 - $1 } }
    public static func * (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, "*") { $0 * $1 } }
    public static func / (lhs: Tensor, rhs: Tensor) -> Tensor { broadcastBinary(lhs, rhs, "/") { $0 / $1 } }

    /// In place; `rhs` must broadcast to `lhs`'s shape.
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        if lhs.shape == rhs.shape {
            rhs.withPointer { pb in
                lhs.withMutablePointer { pa in
                    let (a, b) = (SharedPointer(pa), SharedPointer(UnsafeMutablePointer(mutating: pb)))
                    parallelBlocks(rhs.count) { r in
                        vmap2(a.base + r.lowerBound, b.base + r.lowerBound, a.base + r.lowerBound, r.count) { $0 + $1 }
                    }
                }
            }
        } else {
            let sum = lhs + rhs
            precondition(sum.shape == lhs.shape, "+=: \(rhs.shape) does not broadcast to \(lhs.shape)")
            lhs = sum
        }
    }

    public static func * (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapVectorized { $0 * rhs } }
    public static func * (lhs: Float, rhs: Tensor) -> Tensor { rhs.mapVectorized { lhs * $0 } }
    public static func / (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapVectorized { $0 / rhs } }
    public static func + (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapVectorized { $0 + rhs } }
    public static func - (lhs: Tensor, rhs: Float) -> Tensor { lhs.mapVectorized { $0 - rhs } }
    public static prefix func - (operand: Tensor) -> Tensor { operand.mapVectorized { -$0 } }

    /// self * factor.
    public func scaled(by factor: Float) -> Tensor { self * factor }

    /// Adds a vector along dimension `dim` (default 1: a per-channel bias over C in NCHW, or over the
    /// features of a (batch, features) matrix). `vector` has shape [shape[dim]].
    public func addingChannelVector(_ vector: Tensor, dim: Int = 1) -> Tensor {
        self + channelBroadcastable(vector, dim: dim, op: "addingChannelVector")
    }

    /// Multiplies by a vector along dimension `dim` (default 1: per-channel scale in NCHW).
    public func multiplyingChannelVector(_ vector: Tensor, dim: Int = 1) -> Tensor {
        self * channelBroadcastable(vector, dim: dim, op: "multiplyingChannelVector")
    }

    private func channelBroadcastable(_ vector: Tensor, dim: Int, op: String) -> Tensor {
        let d = normalizedDim(dim, op)
        precondition(vector.count == shape[d], "\(op): vector of \(vector.count) for dim \(d) of \(shape)")
        var s = [Int](repeating: 1, count: rank - d)
        s[0] = shape[d]
        return vector.reshaped(s)
    }

    /// Applies a vectorised function to every scalar.
    @inline(__always)
    func mapVectorized(_ f: (Vec8) -> Vec8) -> Tensor {
        let n = count
        return Tensor(uninitializedShape: shape) { out in
            withPointer { src in
                let (s, d) = (SharedPointer(UnsafeMutablePointer(mutating: src)), SharedPointer(out))
                parallelBlocks(n) { r in vmap(s.base + r.lowerBound, d.base + r.lowerBound, r.count, f) }
            }
        }
    }
}

/// out = f(a, b) with broadcasting.
@inline(__always)
func broadcastBinary(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Vec8, Vec8) -> Vec8) -> Tensor {
    let outShape = a.shape == b.shape ? a.shape : broadcastShapes(a.shape, b.shape, op: op)
    let total = outShape.reduce(1, *)
    return Tensor(uninitializedShape: outShape) { out in
        a.withPointer { pa0 in
            b.withPointer { pb0 in
                let pa = SharedPointer(UnsafeMutablePointer(mutating: pa0))
                let pb = SharedPointer(UnsafeMutablePointer(mutating: pb0))
                let po = SharedPointer(out)
                if a.shape == b.shape {
                    parallelBlocks(total) { r in
                        vmap2(pa.base + r.lowerBound, pb.base + r.lowerBound, po.base + r.lowerBound, r.count, f)
                    }
                    return
                }
                let plan = BroadcastPlan(a.shape, b.shape, outShape)
                let inner = plan.inner
                let rowsPerUnit = max(1, (1 << 15) / max(1, inner))
                let rows = plan.rows
                parallelUnits((rows + rowsPerUnit - 1) / rowsPerUnit) { unit in
                    let lo = unit * rowsPerUnit, hi = min(rows, lo + rowsPerUnit)
                    for row in lo..<hi {
                        let (oa, ob) = plan.offsets(ofRow: row)
                        let src1 = pa.base + oa, src2 = pb.base + ob, dst = po.base + row * inner
                        switch (plan.innerStrideA, plan.innerStrideB) {
                        case (1, 1):
                            vmap2(src1, src2, dst, inner, f)
                        case (1, _):
                            let s = Vec8(repeating: src2.pointee)
                            vmap(src1, dst, inner) { f($0, s) }
                        case (_, 1):
                            let s = Vec8(repeating: src1.pointee)
                            vmap(src2, dst, inner) { f(s, $0) }
                        default:
                            let v = f(Vec8(repeating: src1.pointee), Vec8(repeating: src2.pointee))[0]
                            for i in 0..<inner { dst[i] = v }
                        }
                    }
                }
            }
        }
    }
}

/// The loop structure of a broadcast binary operation: output dims collapsed where both operands allow,
/// then split into rows (all dims but the last, visited by offset computation) and an inner run (the last
/// collapsed dim, stride 1 or 0 in each operand).
struct BroadcastPlan {
    var dims: [Int] = []          // collapsed output dims, outer to inner, excluding the inner one
    var stridesA: [Int] = []
    var stridesB: [Int] = []
    var inner = 1
    var innerStrideA = 0
    var innerStrideB = 0
    var rows = 1

    init(_ a: [Int], _ b: [Int], _ out: [Int]) {
        let r = out.count
        func strides(_ s: [Int]) -> [Int] {
            var st = [Int](repeating: 0, count: r)
            var acc = 1
            for i in stride(from: r - 1, through: 0, by: -1) {
                let j = i - (r - s.count)
                if j >= 0 && s[j] != 1 { st[i] = acc }
                if j >= 0 { acc *= s[j] }
            }
            return st
        }
        let sa = strides(a), sb = strides(b)
        // Collapse from the inside out: dim i merges into the running (inner) block when each operand's
        // stride at i equals its block stride times the block size (0 stays 0).
        var cd: [Int] = [], ca: [Int] = [], cb: [Int] = []
        for i in stride(from: r - 1, through: 0, by: -1) where out[i] != 1 {
            if let last = cd.indices.last,
               sa[i] == ca[last] * cd[last], sb[i] == cb[last] * cd[last] {
                cd[last] *= out[i]
            } else {
                cd.append(out[i]); ca.append(sa[i]); cb.append(sb[i])
            }
        }
        if cd.isEmpty { cd = [1]; ca = [0]; cb = [0] }
        inner = cd[0]
        innerStrideA = ca[0] == 0 ? 0 : 1
        innerStrideB = cb[0] == 0 ? 0 : 1
        dims = Array(cd.dropFirst().reversed())
        stridesA = Array(ca.dropFirst().reversed())
        stridesB = Array(cb.dropFirst().reversed())
        rows = dims.reduce(1, *)
    }

    @inline(__always)
    func offsets(ofRow row: Int) -> (Int, Int) {
        var rem = row, oa = 0, ob = 0
        var i = dims.count - 1
        while i >= 0 {
            let q = rem / dims[i], idx = rem - q * dims[i]
            oa += idx * stridesA[i]
            ob += idx * stridesB[i]
            rem = q
            i -= 1
        }
        return (oa, ob)
    }
}
