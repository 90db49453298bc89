import XCTest
@testable import Tensors

final class ElementwiseTests: XCTestCase {
    /// a op b with PyTorch broadcasting, by index arithmetic in Double.
    private func reference(_ a: Tensor, _ b: Tensor, _ op: (Double, Double) -> Double) -> (shape: [Int], values: [Double]) {
        let r = max(a.rank, b.rank)
        let pa = [Int](repeating: 1, count: r - a.rank) + a.shape, pb = [Int](repeating: 1, count: r - b.rank) + b.shape
        let shape = zip(pa, pb).map { max($0, $1) }
        let values = allIndices(shape).map { idx -> Double in
            let ia = zip(idx, pa).map { $1 == 1 ? 0 : $0 }, ib = zip(idx, pb).map { $1 == 1 ? 0 : $0 }
            return op(Double(a.scalars[linearIndex(ia, pa)]), Double(b.scalars[linearIndex(ib, pb)]))
        }
        return (shape, values)
    }

    func testBroadcastingBinaryOperations() {
        var rng = TestRandom(seed: 70)
        let pairs: [([Int], [Int])] = [
            ([2, 3, 5, 7], [2, 3, 5, 7]),   // same shape
            ([2, 3, 5, 7], [3, 1, 1]),      // per-channel bias over NCHW
            ([2, 3, 5, 7], [2, 3, 1, 1]),   // time embedding added per (sample, channel)
            ([4, 1], [1, 9]),               // outer
            ([2, 5, 11], [11]),             // bias over the last dim
            ([3, 1, 5], [1, 4, 1]),
            ([1], [2, 3]),
            ([], [2, 3]),
        ]
        for (sa, sb) in pairs {
            let a = rng.tensor(sa), b = rng.tensor(sb, 0.5, 1.5)
            for (name, f, g) in [("+", { (x: Tensor, y: Tensor) in x + y }, { (x: Double, y: Double) in x + y }),
                                 ("-", { $0 - $1 }, { $0 - $1 }),
                                 ("*", { $0 * $1 }, { $0 * $1 }),
                                 ("/", { $0 / $1 }, { $0 / $1 })] as [(String, (Tensor, Tensor) -> Tensor, (Double, Double) -> Double)] {
                let (shape, expected) = reference(a, b, g)
                assertClose(f(a, b), expected, shape: shape, "\(sa) \(name) \(sb)")
                let (shape2, expected2) = reference(b, a, g)
                assertClose(f(b, a), expected2, shape: shape2, "\(sb) \(name) \(sa)")
            }
        }
    }

    func testScalarOperationsAndChannelVectors() {
        var rng = TestRandom(seed: 71)
        let x = rng.tensor([2, 3, 4, 5]), v = rng.tensor([3])
        assertClose(x * 0.18215, x.scalars.map { Double($0) * Double(Float(0.18215)) }, "scale")
        assertClose(2 * x, x.scalars.map { 2 * Double($0) }, "scalar * tensor")
        assertClose(x.scaled(by: -3), x.scalars.map { -3 * Double($0) }, "scaled")
        assertClose(x + 1, x.scalars.map { Double($0) + 1 }, "+ scalar")
        assertClose(x / 4, x.scalars.map { Double($0) / 4 }, "/ scalar")
        assertClose(-x, x.scalars.map { -Double($0) }, "negate")
        let biased = x.addingChannelVector(v)
        let scaledChannels = x.multiplyingChannelVector(v)
        for idx in allIndices(x.shape) {
            let i = linearIndex(idx, x.shape)
            XCTAssertEqual(biased.scalars[i], x.scalars[i] + v.scalars[idx[1]])
            XCTAssertEqual(scaledChannels.scalars[i], x.scalars[i] * v.scalars[idx[1]])
        }
        let lastDim = rng.tensor([5])
        let seq = x.addingChannelVector(lastDim, dim: -1)
        for idx in allIndices(x.shape) { XCTAssertEqual(seq.scalars[linearIndex(idx, x.shape)], x.scalars[linearIndex(idx, x.shape)] + lastDim.scalars[idx[3]]) }
    }

    func testInPlaceAdd() {
        var rng = TestRandom(seed: 72)
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([2, 3, 4]), c = rng.tensor([3, 1])
        var x = a
        x += b
        XCTAssertEqual(x.scalars, (a + b).scalars)
        x += c
        XCTAssertEqual(x.scalars, (a + b + c).scalars)
        XCTAssertEqual(x.shape, [2, 3, 4])
    }
}
