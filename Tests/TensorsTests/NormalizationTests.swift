import XCTest
@testable import Tensors

final class NormalizationTests: XCTestCase {
    private func normalize(_ v: [Double], eps: Double) -> [Double] {
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)
        return v.map { ($0 - mean) / (variance + eps).squareRoot() }
    }

    private func groupNormReference(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Double, silu: Bool) -> [Double] {
        let (n, c) = (x.shape[0], x.shape[1])
        let spatial = x.count / (n * c), per = c / groups
        var out = [Double](repeating: 0, count: x.count)
        for img in 0..<n { for g in 0..<groups {
            let start = (img * c + g * per) * spatial
            let normed = normalize(x.scalars[start..<start + per * spatial].map(Double.init), eps: eps)
            for i in 0..<per * spatial {
                let ch = g * per + i / spatial
                var y = normed[i] * Double(weight?.scalars[ch] ?? 1) + Double(bias?.scalars[ch] ?? 0)
                if silu { y = y / (1 + Foundation.exp(-y)) }
                out[start + i] = y
            }
        } }
        return out
    }

    func testGroupNormFourGroupsOfThreeChannels() {
        var rng = TestRandom(seed: 30)
        let x = rng.tensor([2, 12, 5, 3], -2, 3), w = rng.tensor([12], 0.5, 1.5), b = rng.tensor([12])
        assertClose(x.groupNorm(groups: 4, weight: w, bias: b, eps: 1e-5),
                    groupNormReference(x, groups: 4, weight: w, bias: b, eps: 1e-5, silu: false), shape: x.shape, "affine")
        assertClose(x.groupNorm(groups: 4, eps: 1e-6), groupNormReference(x, groups: 4, weight: nil, bias: nil, eps: 1e-6, silu: false),
                    "no affine")
        assertClose(x.groupNorm(groups: 4, weight: w, bias: b, fusedSiLU: true),
                    groupNormReference(x, groups: 4, weight: w, bias: b, eps: 1e-5, silu: true), "fused SiLU")
        // Rank 3 (N, C, L) works too.
        let seq = rng.tensor([1, 6, 7])
        assertClose(seq.groupNorm(groups: 3), groupNormReference(seq, groups: 3, weight: nil, bias: nil, eps: 1e-5, silu: false), "rank 3")
    }

    func testGroupNormWithLargeOffsetIsStillAccurate() {
        // A large common offset: a one-pass E[x^2] - E[x]^2 in fp32 would lose every digit of the variance.
        var rng = TestRandom(seed: 31)
        let x = rng.tensor([1, 4, 33, 31], 1000, 1001)
        assertClose(x.groupNorm(groups: 2), groupNormReference(x, groups: 2, weight: nil, bias: nil, eps: 1e-5, silu: false),
                    rtol: 1e-5, atol: 1e-5, "offset 1000")
    }

    func testLayerNormOverLastDimension() {
        var rng = TestRandom(seed: 32)
        let x = rng.tensor([3, 5, 37], -3, 2), w = rng.tensor([37]), b = rng.tensor([37])
        var expected: [Double] = []
        for r in 0..<15 {
            let normed = normalize(x.scalars[r * 37..<(r + 1) * 37].map(Double.init), eps: 1e-5)
            expected += normed.enumerated().map { $0.element * Double(w.scalars[$0.offset]) + Double(b.scalars[$0.offset]) }
        }
        assertClose(x.layerNorm(weight: w, bias: b), expected, shape: x.shape, "affine")
        let plain = (0..<15).flatMap { r in normalize(x.scalars[r * 37..<(r + 1) * 37].map(Double.init), eps: 1e-5) }
        assertClose(x.layerNorm(), plain, "plain")
        let offset = rng.tensor([4, 1024], 500, 501)
        let offsetExpected = (0..<4).flatMap { r in normalize(offset.scalars[r * 1024..<(r + 1) * 1024].map(Double.init), eps: 1e-5) }
        assertClose(offset.layerNorm(), offsetExpected, rtol: 1e-5, atol: 1e-5, "offset 500")
    }
}
