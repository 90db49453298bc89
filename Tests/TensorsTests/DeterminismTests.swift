import XCTest
@testable import Tensors

/// Every operation that parallelises itself gives the same bytes with 1, 2 and 3 threads of ours.
final class DeterminismTests: XCTestCase {
    private func assertSameBytes(_ name: String, line: UInt = #line, _ op: () -> Tensor) {
        let results = [1, 2, 3].map { threads in TensorThreads.with(threads) { op() } }
        for (i, r) in results.enumerated().dropFirst() {
            XCTAssertEqual(r.shape, results[0].shape, name, line: line)
            XCTAssertTrue(r.scalars.map(\.bitPattern) == results[0].scalars.map(\.bitPattern),
                          "\(name): \(i + 1) threads differ from 1 thread", line: line)
        }
    }

    func testParallelOperationsAreBitIdenticalAcrossThreadCounts() {
        BLASThreads.set(1)
        var rng = TestRandom(seed: 90)
        let big = rng.tensor([100_003], -8, 8), other = rng.tensor([100_003])
        assertSameBytes("silu") { big.silu() }
        assertSameBytes("gelu") { big.gelu() }
        assertSameBytes("gelu tanh") { big.geluTanh() }
        assertSameBytes("quick_gelu") { big.quickGELU() }
        assertSameBytes("in-place activation") { var y = big; y.activate(.silu); return y }
        assertSameBytes("add") { big + other }
        assertSameBytes("in-place add") { var y = big; y += other; return y }
        assertSameBytes("scale") { big * 0.5 }
        let fmap = rng.tensor([2, 24, 37, 41], -3, 3)
        let channels = rng.tensor([24, 1, 1]), gamma = rng.tensor([24]), beta = rng.tensor([24])
        let w3 = rng.tensor([5, 24, 3, 3]), b3 = rng.tensor([5])
        assertSameBytes("channel broadcast") { fmap + channels }
        assertSameBytes("group norm") { fmap.groupNorm(groups: 8, weight: gamma, bias: beta) }
        assertSameBytes("group norm + silu") { fmap.groupNorm(groups: 8, fusedSiLU: true) }
        let rows = rng.tensor([3000, 37], -5, 5)
        assertSameBytes("layer norm") { rows.layerNorm() }
        assertSameBytes("softmax") { rows.softmax() }
        assertSameBytes("geglu") { rows.narrowed(dim: 1, start: 0, length: 36).geglu() }
        assertSameBytes("conv 3x3") { fmap.conv2d(weight: w3, bias: b3, padding: 1) }
        for variant in WinogradVariant.allCases {
            assertSameBytes("conv 3x3 \(variant)") { fmap.conv2d(weight: w3, bias: b3, padding: Padding2D(1), using: .winograd(variant)) }
        }
        assertSameBytes("conv stride 2") { fmap.conv2d(weight: w3, stride: 2, padding: Padding2D(left: 0, right: 1, top: 0, bottom: 1)) }
        assertSameBytes("pad") { fmap.padded2D(Padding2D(1)) }
        assertSameBytes("upsample") { fmap.upsampledNearest2x() }
        assertSameBytes("tokens") { fmap.nchwToTokens() }
        let seq = rng.tensor([2, 700, 40])
        assertSameBytes("split heads") { seq.splitHeads(5) }
        let q = rng.tensor([1, 2, 600, 8]), k = rng.tensor([1, 2, 500, 8])
        assertSameBytes("attention") { Tensor.scaledDotProductAttention(query: q, key: k, value: k) }
        assertSameBytes("causal attention") { Tensor.scaledDotProductAttention(query: q, key: q, value: q, causal: true) }
        assertSameBytes("multi-head attention") { Tensor.multiHeadAttention(query: seq, key: seq, value: seq, heads: 5) }
    }

    func testThreadCountSetting() {
        let saved = TensorThreads.count
        TensorThreads.count = 0
        XCTAssertEqual(TensorThreads.count, 1)
        TensorThreads.count = 3
        XCTAssertEqual(TensorThreads.with(2) { TensorThreads.count }, 2)
        XCTAssertEqual(TensorThreads.count, 3)
        TensorThreads.count = saved
    }
}

/// The engine's products with 1, 2 and 3 of our threads: the same bytes (OpenBLAS itself, with 1 and 2 of its
/// own threads, is not: that is why `sgemm` splits products itself).
final class MatmulThreadDeterminismTests: XCTestCase {
    func testProductsAreBitIdenticalAcrossThreadCounts() {
        var rng = TestRandom(seed: 7)
        for (m, n, k) in [(7, 9, 11), (100, 200, 300), (257, 129, 65), (1024, 8, 300), (8, 1024, 300), (500, 500, 500), (4096, 32, 32), (33, 4096, 16)] {
            let a = rng.tensor([m, k]), b = rng.tensor([k, n]), bt = rng.tensor([n, k])
            let plain = [1, 2, 3].map { threads in TensorThreads.with(threads) { Tensor.matmul(a, b) } }
            let transposed = [1, 2, 3].map { threads in TensorThreads.with(threads) { Tensor.matmul(a, bt, transposeB: true) } }
            for results in [plain, transposed] {
                for r in results.dropFirst() {
                    XCTAssertTrue(r.scalars.map(\.bitPattern) == results[0].scalars.map(\.bitPattern), "\(m)x\(n)x\(k)")
                }
            }
        }
    }

    func testBlocksDependOnTheShapeOnly() {
        XCTAssertEqual(GEMMBlocks(m: 10, n: 10, k: 10).count, 1, "small products are one call")
        let big = GEMMBlocks(m: 8192, n: 320, k: 320)
        XCTAssertTrue(big.alongRows)
        XCTAssertEqual(big.count, 8)
        XCTAssertEqual((0..<big.count).map { big.range($0).count }.reduce(0, +), 8192)
        let wide = GEMMBlocks(m: 320, n: 4096, k: 2880)
        XCTAssertFalse(wide.alongRows)
        XCTAssertEqual(wide.range(wide.count - 1).upperBound, 4096)
    }
}
