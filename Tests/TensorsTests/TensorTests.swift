import XCTest
@testable import Tensors

final class TensorTests: XCTestCase {
    func testShapeStridesAndReshape() {
        let t = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        XCTAssertEqual(t.strides, [12, 4, 1])
        XCTAssertEqual(t.reshaped([6, -1]).shape, [6, 4])
        XCTAssertEqual(t.reshaped([-1]).scalars, t.scalars)
        XCTAssertEqual(Tensor(zeros: [3, 0]).count, 0)
    }

    func testBLASThreadCountIsSettable() {
        BLASThreads.set(1)
        XCTAssertEqual(BLASThreads.current, 1)
    }
}
