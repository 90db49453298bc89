import XCTest
@testable import Tensors

final class SoftmaxTests: XCTestCase {
    private func reference(_ x: Tensor) -> [Double] {
        let d = x.shape.last!
        return (0..<x.count / d).flatMap { r -> [Double] in
            let row = x.scalars[r * d..<(r + 1) * d].map(Double.init)
            let m = row.max()!
            let e = row.map { Foundation.exp($0 - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
    }

    func testSoftmaxOverLastDimension() {
        var rng = TestRandom(seed: 50)
        for shape in [[3, 4, 7], [5, 1], [2, 77], [1, 131]] {
            let x = rng.tensor(shape, -5, 5)
            assertClose(x.softmax(), reference(x), shape: shape, "\(shape)")
        }
    }

    func testSoftmaxIsStableForLargeLogits() {
        var rng = TestRandom(seed: 51)
        let x = rng.tensor([4, 19], 900, 1000)
        let y = x.softmax()
        XCTAssertFalse(y.scalars.contains { $0.isNaN || $0.isInfinite })
        assertClose(y, reference(x), "large logits")
        // -inf entries get probability exactly 0.
        let masked = Tensor(shape: [1, 4], scalars: [1, -.infinity, 2, -.infinity]).softmax()
        XCTAssertEqual(masked.scalars[1], 0)
        XCTAssertEqual(masked.scalars[3], 0)
        assertClose(masked, [1 / (1 + M_E), 0, M_E / (1 + M_E), 0], "masked")
    }
}
