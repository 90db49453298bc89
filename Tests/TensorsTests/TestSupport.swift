import XCTest
@testable import Tensors

/// SplitMix64: reproducible test inputs.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }

    mutating func tensor(_ shape: [Int], _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: (0..<n).map { _ in uniform(lo, hi) })
    }
}

/// Asserts |actual - expected| <= atol + rtol * |expected| elementwise (torch.allclose's rule), naming
/// the worst element when it fails.
func assertClose(_ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, rtol: Double = 1e-5, atol: Double = 1e-6,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    if let shape { XCTAssertEqual(actual.shape, shape, "shape \(message)", file: file, line: line) }
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst = 0.0, worstIndex = -1
    for i in 0..<expected.count {
        let a = Double(actual.scalars[i]), e = expected[i]
        let ratio = a.isNaN || e.isNaN ? (a.isNaN && e.isNaN ? 0 : .infinity) : abs(a - e) / (atol + rtol * abs(e))
        if ratio > worst { worst = ratio; worstIndex = i }
    }
    if worst > 1 {
        XCTFail("\(message): element \(worstIndex) is \(actual.scalars[worstIndex]), expected \(expected[worstIndex]) (error \(worst) x tolerance)",
                file: file, line: line)
    }
}

func doubles(_ t: Tensor) -> [Double] { t.scalars.map(Double.init) }

/// Row-major linear index.
func linearIndex(_ index: [Int], _ shape: [Int]) -> Int {
    var off = 0
    for (i, s) in zip(index, shape) { off = off * s + i }
    return off
}

/// All multi-indices of a shape, row-major.
func allIndices(_ shape: [Int]) -> [[Int]] {
    var result: [[Int]] = [[]]
    for s in shape { result = result.flatMap { prefix in (0..<s).map { prefix + [$0] } } }
    return result
}
