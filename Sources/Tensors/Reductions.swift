// Sums for the normalisations and softmax, accumulated in Double (8 lanes, fp32 values widened), so the
// rounding is far below fp32's whatever the row length or offset. The order is fixed by the code alone
// (never by threads).

/// Σ p[i] for i in 0..<n, in Double.
@inline(__always)
func blockedSum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
    var i = 0
    while i + 8 <= n {
        let v = load8(p + i)
        a0 += SIMD4<Double>(v.lowHalf)
        a1 += SIMD4<Double>(v.highHalf)
        i += 8
    }
    var total = (a0 + a1).sum()
    while i < n { total += Double(p[i]); i += 1 }
    return total
}

/// Σ (p[i] - center)^2 for i in 0..<n, in Double (the differences in fp32, exact when p[i] is near center).
@inline(__always)
func blockedSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, center: Float) -> Double {
    let c = Vec8(repeating: center)
    var a0 = SIMD4<Double>(), a1 = SIMD4<Double>()
    var i = 0
    while i + 8 <= n {
        let d = load8(p + i) - c
        let lo = SIMD4<Double>(d.lowHalf), hi = SIMD4<Double>(d.highHalf)
        a0 += lo * lo
        a1 += hi * hi
        i += 8
    }
    var total = (a0 + a1).sum()
    while i < n { let d = Double(p[i] - center); total += d * d; i += 1 }
    return total
}

/// Mean and biased variance (divide by n, as PyTorch's normalisations) of n floats: two passes.
@inline(__always)
func meanAndVariance(_ p: UnsafePointer<Float>, _ n: Int) -> (mean: Double, variance: Double) {
    guard n > 0 else { return (0, 0) }
    let mean = blockedSum(p, n) / Double(n)
    let center = Float(mean)
    // Σ(x - c)^2 / n = var + (mean - c)^2: remove the offset of the rounded centre exactly.
    let offset = mean - Double(center)
    let variance = blockedSquaredDeviations(p, n, center: center) / Double(n) - offset * offset
    return (mean, max(0, variance))
}
