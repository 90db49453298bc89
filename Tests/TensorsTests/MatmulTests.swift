import XCTest
@testable import Tensors

final class MatmulTests: XCTestCase {
    /// Reference (M x K) x (K x N) in Double; `at(i, k)` / `bt(k, j)` read the operands.
    private func reference(m: Int, n: Int, k: Int, _ a: (Int, Int) -> Float, _ b: (Int, Int) -> Float) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n {
            var s = 0.0
            for p in 0..<k { s += Double(a(i, p)) * Double(b(p, j)) }
            out[i * n + j] = s
        } }
        return out
    }

    func testMatmul2DWithAllTransposes() {
        var rng = TestRandom(seed: 1)
        let (m, n, k) = (7, 5, 11)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = rng.tensor(ta ? [k, m] : [m, k]), b = rng.tensor(tb ? [n, k] : [k, n])
            let expected = reference(m: m, n: n, k: k,
                                     { i, p in ta ? a.scalars[p * m + i] : a.scalars[i * k + p] },
                                     { p, j in tb ? b.scalars[j * k + p] : b.scalars[p * n + j] })
            assertClose(Tensor.matmul(a, b, transposeA: ta, transposeB: tb), expected, shape: [m, n], "transposes \(ta) \(tb)")
        }
    }

    func testBatchedMatmulAndBroadcastBatch() {
        var rng = TestRandom(seed: 2)
        let a = rng.tensor([2, 3, 4, 6]), b = rng.tensor([2, 3, 6, 5])
        var expected: [Double] = []
        for batch in 0..<6 {
            expected += reference(m: 4, n: 5, k: 6, { i, p in a.scalars[batch * 24 + i * 6 + p] },
                                  { p, j in b.scalars[batch * 30 + p * 5 + j] })
        }
        assertClose(Tensor.matmul(a, b), expected, shape: [2, 3, 4, 5], "batched")

        // b shared by every batch (one stacked sgemm), with alpha.
        let w = rng.tensor([6, 5])
        var shared: [Double] = []
        for batch in 0..<6 {
            shared += reference(m: 4, n: 5, k: 6, { i, p in a.scalars[batch * 24 + i * 6 + p] }, { p, j in w.scalars[p * 5 + j] })
                .map { $0 * 0.5 }
        }
        assertClose(Tensor.matmul(a, w, alpha: 0.5), shared, shape: [2, 3, 4, 5], "shared b")

        // Broadcast batch dims (2, 1) x (3): (2, 3).
        let c = rng.tensor([2, 1, 4, 6]), d = rng.tensor([3, 6, 5])
        var broadcast: [Double] = []
        for i in 0..<2 { for j in 0..<3 {
            broadcast += reference(m: 4, n: 5, k: 6, { r, p in c.scalars[i * 24 + r * 6 + p] }, { p, q in d.scalars[j * 30 + p * 5 + q] })
        } }
        assertClose(Tensor.matmul(c, d), broadcast, shape: [2, 3, 4, 5], "broadcast batch")
    }

    func testLinearMatchesXWTransposePlusBias() {
        var rng = TestRandom(seed: 3)
        let x = rng.tensor([2, 3, 13]), w = rng.tensor([9, 13]), b = rng.tensor([9])
        var expected = reference(m: 6, n: 9, k: 13, { i, p in x.scalars[i * 13 + p] }, { p, j in w.scalars[j * 13 + p] })
        assertClose(x.linear(weight: w), expected, shape: [2, 3, 9], "no bias")
        for i in 0..<6 { for j in 0..<9 { expected[i * 9 + j] += Double(b.scalars[j]) } }
        assertClose(x.linear(weight: w, bias: b), expected, shape: [2, 3, 9], "bias")
    }

    func testShorterBLASSpinKeepsResults() {
        var rng = TestRandom(seed: 4)
        let a = rng.tensor([300, 200]), b = rng.tensor([200, 250])
        BLASThreads.set(2)
        let before = Tensor.matmul(a, b)
        XCTAssertTrue(BLASSpinWait.setTimeout(log2Cycles: 16), "libopenblas exports openblas_read_env and blas_thread_shutdown_")
        XCTAssertEqual(BLASSpinWait.configuredLog2Cycles, 16)
        XCTAssertEqual(BLASThreads.current, 2)
        XCTAssertEqual(Tensor.matmul(a, b), before)   // worker threads restart and compute the same
        BLASThreads.set(1)
    }

    func testEmptyInnerDimensionGivesZerosOrBias() {
        let x = Tensor(zeros: [4, 0]), w = Tensor(zeros: [3, 0])
        XCTAssertEqual(x.linear(weight: w).scalars, [Float](repeating: 0, count: 12))
        XCTAssertEqual(x.linear(weight: w, bias: Tensor(shape: [3], scalars: [1, 2, 3])).scalars, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
    }
}
