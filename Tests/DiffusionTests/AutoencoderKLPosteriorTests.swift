import Foundation
import XCTest
import Tensors
@testable import Diffusion

final class AutoencoderKLPosteriorTests: XCTestCase {
    /// Moments (B, 2C, h, w): channels [0, C) are the mean, [C, 2C) the logvar, clamped to [-30, 20].
    func testSplitClampAndSample() {
        // B = 2, C = 1, 1x2: batch 0 mean (1, 2), logvar (-40, 0); batch 1 mean (3, 4), logvar (25, 2).
        let moments = Tensor(shape: [2, 2, 1, 2], scalars: [1, 2, -40, 0, 3, 4, 25, 2])
        let p = DiagonalGaussianDistribution(moments: moments)
        XCTAssertEqual(p.mean, Tensor(shape: [2, 1, 1, 2], scalars: [1, 2, 3, 4]))
        XCTAssertEqual(p.logvar, Tensor(shape: [2, 1, 1, 2], scalars: [-30, 0, 20, 2]))
        XCTAssertEqual(p.std.scalars, [Float(exp(-15.0)), 1, Float(exp(10.0)), Float(exp(1.0))].map { Float($0) },
                       accuracy: 1e-6, relative: true)
        let noise = Tensor(shape: [2, 1, 1, 2], scalars: [0.5, -1, 0, 2])
        let s = p.sample(noise: noise)
        XCTAssertEqual(s.scalars[1], 1, "2 + 1 * -1")
        XCTAssertEqual(s.scalars[2], 3, "zero noise gives the mean")
        XCTAssertEqual(p.mode(), p.mean)
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, relative: Bool,
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertLessThanOrEqual(abs(x - y), accuracy * Swift.max(1, abs(y)), "\(a) vs \(b)", file: file, line: line)
    }
}
