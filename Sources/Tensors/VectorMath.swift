// Vectorised elementary functions for the activations and softmax. They work on 8 lanes (two SSE
// registers on the x86-64 baseline this package is compiled for). Every element goes through the same
// vector code, tails included (padded lanes), so an element's result never depends on where it falls in
// a block or which thread computes it.

typealias Vec8 = SIMD8<Float>

/// e^x, Cephes' single-precision scheme (range reduction x = n ln2 + r, degree-6 polynomial); relative
/// error below 1e-7 over the normal range. Exactly 0 below ln(FLT_MIN) (so exp(-inf) = 0, as masked
/// softmax needs), +inf above ln(FLT_MAX).
@inline(__always)
func vexp(_ x: Vec8) -> Vec8 {
    let lo: Float = -87.336_54, hi: Float = 88.0
    var xc = x.replacing(with: Vec8(repeating: lo), where: x .< lo)
    xc = xc.replacing(with: Vec8(repeating: hi), where: xc .> hi)
    // Round x * log2(e) to the nearest integer with the 1.5 * 2^23 trick; its low bits are then n.
    let magic: Float = 12_582_912
    let y = xc * 1.442_695_040_888_963_4 + magic
    let n = unsafeBitCast(y, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let fx = y - magic
    var r = xc - fx * 0.693_359_375
    r = r - fx * -2.121_944_4e-4
    let z = r * r
    var p = Vec8(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * z + r + 1
    let scale = unsafeBitCast((n &+ 127) &<< 23, to: Vec8.self)
    var out = p * scale
    out = out.replacing(with: 0, where: x .< lo)
    out = out.replacing(with: .infinity, where: x .> 88.722_83)
    return out
}

/// e^x for x <= 0 (softmax after subtracting the row maximum): `vexp` without the overflow handling.
@inline(__always)
func vexpNonPositive(_ x: Vec8) -> Vec8 {
    // No clamping: lanes below ln(FLT_MIN) compute garbage (even NaN) that the final select replaces by 0.
    let lo: Float = -87.336_54
    let xc = x
    let magic: Float = 12_582_912
    let y = xc * 1.442_695_040_888_963_4 + magic
    let n = unsafeBitCast(y, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let fx = y - magic
    var r = xc - fx * 0.693_359_375
    r = r - fx * -2.121_944_4e-4
    let z = r * r
    var p = Vec8(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_950_7e-3
    p = p * r + 8.333_451_907_3e-3
    p = p * r + 4.166_579_589_4e-2
    p = p * r + 1.666_666_545_9e-1
    p = p * r + 5.000_000_120_1e-1
    p = p * z + r + 1
    let scale = unsafeBitCast((n &+ 127) &<< 23, to: Vec8.self)
    return (p * scale).replacing(with: 0, where: x .< lo)
}

/// Lane-wise maximum (the standard library's `pointwiseMax` is not inlined).
@inline(__always)
func vmax(_ a: Vec8, _ b: Vec8) -> Vec8 { a.replacing(with: b, where: a .< b) }

/// erf(x) as x P(x^2) / Q(x^2) on [-4, 4] (clamped outside, where erf is +-1 in fp32); absolute error
/// about 4e-7 when evaluated in fp32 (the rational approximation Eigen uses for fp32 erf).
@inline(__always)
func verf(_ x0: Vec8) -> Vec8 {
    var x = x0.replacing(with: Vec8(repeating: 4), where: x0 .> 4)
    x = x.replacing(with: Vec8(repeating: -4), where: x .< -4)
    let x2 = x * x
    var p = Vec8(repeating: -2.726_142_258_013_06e-10)
    p = p * x2 + 2.770_681_424_959_02e-08
    p = p * x2 + -2.101_024_020_825_08e-06
    p = p * x2 + -5.692_506_394_623_46e-05
    p = p * x2 + -7.349_906_303_268_55e-04
    p = p * x2 + -2.954_599_808_540_25e-03
    p = p * x2 + -1.609_603_332_624_15e-02
    p = p * x
    var q = Vec8(repeating: -1.456_607_184_649_96e-05)
    q = q * x2 + -2.133_740_552_789_05e-04
    q = q * x2 + -1.682_826_974_382_03e-03
    q = q * x2 + -7.373_329_167_204_68e-03
    q = q * x2 + -1.426_473_905_141_89e-02
    return p / q
}

/// x * sigmoid(k x) = x / (1 + e^(-k x)) (SiLU for k = 1, quick_gelu for k = 1.702).
@inline(__always)
func vxsigmoid(_ x: Vec8, _ k: Float) -> Vec8 {
    x / (1 + vexp(x * -k))
}

/// GELU, exact form: x/2 (1 + erf(x / sqrt 2)) (PyTorch's default `approximate='none'`).
@inline(__always)
func vgelu(_ x: Vec8) -> Vec8 {
    x * 0.5 * (1 + verf(x * 0.707_106_781_186_547_524_4))
}

/// GELU, tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), computed as
/// x * sigmoid(2u), which is the same function without the cancellation of 1 + tanh for negative x.
@inline(__always)
func vgeluTanh(_ x: Vec8) -> Vec8 {
    let u = (x + x * x * x * 0.044_715) * 0.797_884_560_802_865_4
    return x / (1 + vexp(u * -2))
}

/// Loads `n` (< 8) floats, zero elsewhere.
@inline(__always)
func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> Vec8 {
    var v = Vec8()
    for i in 0..<n { v[i] = p[i] }
    return v
}

/// Stores the first `n` (< 8) lanes.
@inline(__always)
func storePartial(_ v: Vec8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> Vec8 { UnsafeRawPointer(p).loadUnaligned(as: Vec8.self) }

@inline(__always)
func store8(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self) }

/// dst[i] = f(src[i]) for i in 0..<n, 8 lanes at a time; the tail goes through `f` too.
@inline(__always)
func vmap(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Vec8) -> Vec8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(src + i)), dst + i)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(src + i, n - i)), dst + i, n - i) }
}

/// dst[i] = f(a[i], b[i]) for i in 0..<n.
@inline(__always)
func vmap2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
           _ f: (Vec8, Vec8) -> Vec8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(a + i), load8(b + i)), dst + i)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(a + i, n - i), loadPartial(b + i, n - i)), dst + i, n - i) }
}
