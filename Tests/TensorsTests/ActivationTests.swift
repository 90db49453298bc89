import XCTest
@testable import Tensors

final class ActivationTests: XCTestCase {
    /// Inputs across the useful range, the tails and a few exact points (odd count: exercises the tail lanes).
    private func inputs() -> Tensor {
        var rng = TestRandom(seed: 40)
        var v = (0..<1001).map { _ in rng.uniform(-6, 6) }
        v += [0, -0.0, 1, -1, 20, -20, 88, -88, 100, -100, 1e-8, -1e-8, 3.5, -3.5, 9.5, -9.5]
        return Tensor(shape: [v.count], scalars: v)
    }

    private func check(_ f: (Tensor) -> Tensor, _ reference: (Double) -> Double, _ name: String, atol: Double = 1e-6,
                       line: UInt = #line) {
        let x = inputs()
        assertClose(f(x), x.scalars.map { reference(Double($0)) }, shape: x.shape, atol: atol, name, line: line)
    }

    func testSiLU() {
        check({ $0.silu() }, { $0 / (1 + Foundation.exp(-$0)) }, "silu")
    }

    func testExactGELU() {
        check({ $0.gelu() }, { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }, "gelu")
    }

    func testTanhGELU() {
        check({ $0.geluTanh() }, { 0.5 * $0 * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * ($0 + 0.044715 * $0 * $0 * $0))) },
              "gelu tanh")
    }

    func testQuickGELU() {
        check({ $0.quickGELU() }, { $0 / (1 + Foundation.exp(-1.702 * $0)) }, "quick_gelu")
    }

    func testSigmoid() {
        check({ $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) }, "sigmoid")
    }

    func testInPlaceActivationMatchesOutOfPlace() {
        let x = inputs()
        for a in Activation.allCases {
            var y = x
            y.activate(a)
            XCTAssertEqual(y.scalars, x.activated(a).scalars, "\(a)")
        }
    }

    func testGEGLUSplitsHiddenThenGate() {
        var rng = TestRandom(seed: 41)
        let d = 13
        let x = rng.tensor([2, 3, 2 * d], -4, 4)
        var expected: [Double] = [], expectedTanh: [Double] = []
        for r in 0..<6 {
            for i in 0..<d {
                let hidden = Double(x.scalars[r * 2 * d + i]), gate = Double(x.scalars[r * 2 * d + d + i])
                expected.append(hidden * 0.5 * gate * (1 + Foundation.erf(gate / 2.0.squareRoot())))
                let u = (2 / Double.pi).squareRoot() * (gate + 0.044715 * gate * gate * gate)
                expectedTanh.append(hidden * 0.5 * gate * (1 + Foundation.tanh(u)))
            }
        }
        assertClose(x.geglu(), expected, shape: [2, 3, d], "geglu")
        assertClose(x.geglu(approximate: true), expectedTanh, shape: [2, 3, d], "geglu tanh")
    }

    func testActivationConfigNames() {
        XCTAssertEqual(Activation(configName: "quick_gelu"), .quickGELU)
        XCTAssertEqual(Activation(configName: "gelu"), .gelu)
        XCTAssertEqual(Activation(configName: "gelu_pytorch_tanh"), .geluTanh)
        XCTAssertEqual(Activation(configName: "swish"), .silu)
        XCTAssertNil(Activation(configName: "relu6"))
    }
}
