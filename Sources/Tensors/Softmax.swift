import Foundation
import VectorKernels

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
        let sum = exponentiateRow(src, dst, valid)
        let vinv = Vec8(repeating: Float(1 / sum))
        vmap(dst, dst, valid) { $0 * vinv }
    }
    if valid < count { (dst + valid).update(repeating: 0, count: count - valid) }
}

/// dst = exp(src - max(src)) over n > 0 elements; returns Σ dst (in Double). The unnormalised half of
/// softmax: attention divides its output rows by the sum instead of every probability. On CPUs with AVX2 the
/// same operations run from VectorKernels (C, compiled for AVX2, chosen at run time): the same bits.
@inline(__always)
func exponentiateRow(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
    if VectorPath.current == .avx2 { return dataengine_exponentiate_row_avx2(src, dst, n) }
    return exponentiateRowBaseline(src, dst, n)
}

/// `exponentiateRow` in Swift for baseline x86-64 (and other CPUs).
@inline(__always)
func exponentiateRowBaseline(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int) -> Double {
    // Maximum, four independent lanes of 8.
    let ninf = Vec8(repeating: -.infinity)
    var (m0, m1, m2, m3) = (ninf, ninf, ninf, ninf)
    var i = 0
    while i + 32 <= n {
        m0 = vmax(m0, load8(src + i)); m1 = vmax(m1, load8(src + i + 8))
        m2 = vmax(m2, load8(src + i + 16)); m3 = vmax(m3, load8(src + i + 24))
        i += 32
    }
    while i + 8 <= n { m0 = vmax(m0, load8(src + i)); i += 8 }
    let m8 = vmax(vmax(m0, m1), vmax(m2, m3))
    let m4 = m8.lowHalf.replacing(with: m8.highHalf, where: m8.lowHalf .< m8.highHalf)
    var m = Swift.max(Swift.max(m4[0], m4[1]), Swift.max(m4[2], m4[3]))   // (SIMD.max() is an out-of-line call)
    while i < n { m = Swift.max(m, src[i]); i += 1 }
    // exp(x - m), summed in fp32 lanes over runs of 8 vectors (64 elements), the runs in Double.
    let vm = Vec8(repeating: m)
    var total = 0.0
    var acc = Vec8()
    var run = 0
    i = 0
    while i + 8 <= n {
        let e = vexpNonPositive(load8(src + i) - vm)
        store8(e, dst + i)
        acc += e
        run += 1
        if run == 8 {
            total += laneSumOutlined(acc)
            acc = Vec8()
            run = 0
        }
        i += 8
    }
    if i < n {
        let e = vexpNonPositive(loadPartial(src + i, n - i) - vm)
        storePartial(e, dst + i, n - i)
        acc += e.replacing(with: 0, where: SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7) .>= Int32(n - i))
    }
    return total + laneSumOutlined(acc)
}

/// `laneSum` kept out of line: inlined into the exponential loop, its widening to Double made LLVM split
/// the whole loop into 2-lane pieces.
@inline(never)
func laneSumOutlined(_ v: Vec8) -> Double { laneSum(v) }

@inline(__always)
func laneSum(_ v: Vec8) -> Double {
    let lo = SIMD4<Double>(v.lowHalf), hi = SIMD4<Double>(v.highHalf)
    return (lo + hi).sum()
}
