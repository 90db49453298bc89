import XCTest
@testable import Tensors

final class LayoutTests: XCTestCase {
    private func referencePermute(_ x: Tensor, _ dims: [Int]) -> [Float] {
        let outShape = dims.map { x.shape[$0] }
        return allIndices(outShape).map { idx in
            var inIdx = [Int](repeating: 0, count: x.rank)
            for (i, d) in dims.enumerated() { inIdx[d] = idx[i] }
            return x.scalars[linearIndex(inIdx, x.shape)]
        }
    }

    func testEveryPermutationOfRankFour() {
        var rng = TestRandom(seed: 80)
        let x = rng.tensor([3, 5, 2, 37])   // 37 > the 32-element transpose tile
        func permutations(_ a: [Int]) -> [[Int]] {
            a.count <= 1 ? [a] : a.indices.flatMap { i in permutations(a.enumerated().filter { $0.offset != i }.map(\.element)).map { [a[i]] + $0 } }
        }
        for p in permutations([0, 1, 2, 3]) {
            let y = x.permuted(p)
            XCTAssertEqual(y.shape, p.map { x.shape[$0] }, "\(p)")
            XCTAssertEqual(y.scalars, referencePermute(x, p), "\(p)")
        }
        let withOnes = rng.tensor([1, 4, 1, 3])
        XCTAssertEqual(withOnes.permuted([3, 2, 1, 0]).scalars, referencePermute(withOnes, [3, 2, 1, 0]))
        XCTAssertEqual(x.transposed(1, -1).scalars, referencePermute(x, [0, 3, 2, 1]))
    }

    func testTokenAndHeadLayouts() {
        var rng = TestRandom(seed: 81)
        let x = rng.tensor([2, 5, 3, 7])
        let tokens = x.nchwToTokens()
        XCTAssertEqual(tokens.shape, [2, 21, 5])
        XCTAssertEqual(tokens.scalars[linearIndex([1, 2 * 7 + 4, 3], tokens.shape)], x.scalars[linearIndex([1, 3, 2, 4], x.shape)])
        XCTAssertEqual(tokens.tokensToNCHW(height: 3, width: 7), x)
        let seq = rng.tensor([2, 6, 3 * 4])
        let heads = seq.splitHeads(3)
        XCTAssertEqual(heads.shape, [2, 3, 6, 4])
        XCTAssertEqual(heads.scalars[linearIndex([1, 2, 5, 3], heads.shape)], seq.scalars[linearIndex([1, 5, 2 * 4 + 3], seq.shape)])
        XCTAssertEqual(heads.mergeHeads(), seq)
    }

    func testConcatNarrowSplitChunk() {
        var rng = TestRandom(seed: 82)
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([2, 5, 4])
        let c = Tensor.concat([a, b], dim: 1)
        XCTAssertEqual(c.shape, [2, 8, 4])
        for idx in allIndices(c.shape) {
            let v = idx[1] < 3 ? a.scalars[linearIndex(idx, a.shape)] : b.scalars[linearIndex([idx[0], idx[1] - 3, idx[2]], b.shape)]
            XCTAssertEqual(c.scalars[linearIndex(idx, c.shape)], v)
        }
        XCTAssertEqual(c.split(sizes: [3, 5], dim: 1), [a, b])
        XCTAssertEqual(Tensor.concat([a, a], dim: -1).narrowed(dim: 2, start: 4, length: 4), a)
        let stacked = Tensor.concat([a, a.scaled(by: 2)], dim: 0)
        XCTAssertEqual(stacked.shape, [4, 3, 4])
        XCTAssertEqual(stacked.chunked(2, dim: 0), [a, a.scaled(by: 2)])
        // torch.chunk: 5 in 3 chunks -> 2, 2, 1; 6 in 4 chunks -> 2, 2, 2 (only three pieces).
        let five = Tensor(shape: [5], scalars: [0, 1, 2, 3, 4])
        XCTAssertEqual(five.chunked(3, dim: 0).map(\.scalars), [[0, 1], [2, 3], [4]])
        let six = Tensor(shape: [1, 6], scalars: [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(six.chunked(4, dim: 1).map(\.shape), [[1, 2], [1, 2], [1, 2]])
        XCTAssertEqual(six.split(size: 4, dim: -1).map(\.scalars), [[0, 1, 2, 3], [4, 5]])
        // GEGLU's chunk(2, dim=-1) halves.
        let halves = b.chunked(2, dim: -1)
        XCTAssertEqual(halves.map(\.shape), [[2, 5, 2], [2, 5, 2]])
        XCTAssertEqual(Tensor.concat(halves, dim: -1), b)
    }

    func testNearestUpsampling() {
        var rng = TestRandom(seed: 83)
        let x = rng.tensor([2, 3, 3, 5])
        let y = x.upsampledNearest2x()
        XCTAssertEqual(y.shape, [2, 3, 6, 10])
        for idx in allIndices(y.shape) {
            XCTAssertEqual(y.scalars[linearIndex(idx, y.shape)], x.scalars[linearIndex([idx[0], idx[1], idx[2] / 2, idx[3] / 2], x.shape)])
        }
    }
}
