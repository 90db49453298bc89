import Foundation
import XCTest
import VectorKernels
@testable import Tensors

/// The softmax's exponential compiled for AVX2 (VectorKernels) gives the bits of the Swift code it mirrors, for every
/// row length (the 8-lane body, the runs of 8 vectors summed in Double, the tail) and for -inf (masked) entries.
final class VectorKernelsTests: XCTestCase {
    func testTheAVX2ExponentialGivesTheSwiftBits() throws {
        guard dataengine_vector_avx2() != 0 else { throw XCTSkip("this CPU has no AVX2") }
        var rng = TestRandom(seed: 77)
        for n in Array(1...80) + [127, 128, 129, 512, 4096, 4103] {
            for scale: Float in [1, 30, 200] {
                var src = rng.tensor([n], -scale, scale).scalars
                if n > 3 { src[n / 3] = -.infinity; src[n - 1] = -1e30 }
                var baseline = [Float](repeating: .nan, count: n), avx2 = [Float](repeating: .nan, count: n)
                let sumBaseline = src.withUnsafeBufferPointer { s in
                    baseline.withUnsafeMutableBufferPointer { exponentiateRowBaseline(s.baseAddress!, $0.baseAddress!, n) }
                }
                let sumAVX2 = src.withUnsafeBufferPointer { s in
                    avx2.withUnsafeMutableBufferPointer { dataengine_exponentiate_row_avx2(s.baseAddress!, $0.baseAddress!, n) }
                }
                XCTAssertEqual(sumAVX2.bitPattern, sumBaseline.bitPattern, "sum, n = \(n), scale \(scale)")
                XCTAssertEqual(avx2.map(\.bitPattern), baseline.map(\.bitPattern), "values, n = \(n), scale \(scale)")
            }
        }
    }

    func testSoftmaxRunsThePathTheCPUHas() {
        XCTAssertEqual(VectorPath.current, dataengine_vector_avx2() != 0 && ProcessInfo.processInfo.environment["DATAENGINE_VECTOR"] != "baseline" ? .avx2 : .baseline)
        let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, -.infinity, 0, 0])
        let y = x.softmax().scalars
        XCTAssertEqual(y[3], 0)
        XCTAssertEqual(y[4], 0.5, accuracy: 1e-7)
        XCTAssertEqual(Double(y[0] + y[1] + y[2]), 1, accuracy: 1e-6)
    }

    /// `DATAENGINE_VECTOR`: baseline forces the Swift code; a typo or avx2 on a CPU without it is said, not ignored.
    func testTheEnvironmentValueIsCheckedAndAnUnknownOneIsReported() {
        XCTAssertEqual(VectorPath.choose(requested: nil, avx2Available: true).path, .avx2)
        XCTAssertEqual(VectorPath.choose(requested: "", avx2Available: false).path, .baseline)
        XCTAssertEqual(VectorPath.choose(requested: "BASELINE", avx2Available: true).path, .baseline)
        XCTAssertNil(VectorPath.choose(requested: "baseline", avx2Available: true).warning)
        XCTAssertEqual(VectorPath.choose(requested: "avx2", avx2Available: true).path, .avx2)
        XCTAssertNil(VectorPath.choose(requested: "avx2", avx2Available: true).warning)
        let unavailable = VectorPath.choose(requested: "avx2", avx2Available: false)
        XCTAssertEqual(unavailable.path, .baseline)
        XCTAssertTrue(unavailable.warning?.contains("no AVX2") == true, "\(String(describing: unavailable.warning))")
        let typo = VectorPath.choose(requested: "avx-2", avx2Available: true)
        XCTAssertEqual(typo.path, .avx2)
        XCTAssertTrue(typo.warning?.contains("DATAENGINE_VECTOR=avx-2 ignored: expected baseline or avx2") == true, "\(String(describing: typo.warning))")
    }
}
