import Foundation
import XCTest
@testable import Tensors

final class WinogradTests: XCTestCase {
    /// Direct 3x3 stride-1 convolution in Double.
    private func winogradDirect(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ p: Padding2D) -> [Double] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let o = w.shape[0]
        let oh = h + p.top + p.bottom - 2, ow = wd + p.left + p.right - 2
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for img in 0..<n { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            var s = b.map { Double($0.scalars[oc]) } ?? 0
            for ic in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy - p.top + ky, ix = ox - p.left + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                s += Double(x.scalars[((img * c + ic) * h + iy) * wd + ix]) * Double(w.scalars[((oc * c + ic) * 3 + ky) * 3 + kx])
            } } }
            out[((img * o + oc) * oh + oy) * ow + ox] = s
        } } } }
        return out
    }

    /// max |a - b| / max |b|.
    private func winogradRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
        XCTAssertEqual(a.shape, b.shape)
        var diff = 0.0, scale = 0.0
        for (x, y) in zip(a.scalars, b.scalars) {
            diff = max(diff, abs(Double(x) - Double(y)))
            scale = max(scale, abs(Double(y)))
        }
        return diff / max(scale, 1e-30)
    }

    /// Both variants (on-the-fly and pre-transformed weight) against the direct convolution and im2col.
    private func winogradCheck(n: Int, c: Int, h: Int, w: Int, o: Int, padding: Padding2D, bias: Bool = true,
                               seed: UInt64, line: UInt = #line) {
        var rng = TestRandom(seed: seed)
        let x = rng.tensor([n, c, h, w]), wt = rng.tensor([o, c, 3, 3]), b = bias ? rng.tensor([o]) : nil
        let expected = winogradDirect(x, wt, b, padding)
        let im2col = x.conv2d(weight: wt, bias: b, padding: padding, using: .im2col)
        let shape = [n, o, h + padding.top + padding.bottom - 2, w + padding.left + padding.right - 2]
        for variant in WinogradVariant.allCases {
            let name = "\(variant) n\(n) c\(c) \(h)x\(w) o\(o) \(padding) bias \(bias)"
            let onTheFly = x.conv2d(weight: wt, bias: b, padding: padding, using: .winograd(variant))
            assertClose(onTheFly, expected, shape: shape, rtol: 1e-5, atol: 1e-5, name, line: line)
            XCTAssertLessThan(winogradRelativeError(onTheFly, im2col), 1e-5, name, line: line)
            let filter = WinogradFilter(weight: wt, variant: variant)
            let cached = x.conv2d(winograd: filter, bias: b, padding: padding)
            XCTAssertEqual(cached.scalars.map(\.bitPattern), onTheFly.scalars.map(\.bitPattern),
                           "\(name): pre-transformed weight differs", line: line)
        }
    }

    func testWinogradMatchesDirectConvolutionOnOddPlanes() {
        for (i, (h, w)) in [(1, 1), (2, 3), (5, 7), (9, 9), (3, 2), (6, 6), (10, 13)].enumerated() {
            winogradCheck(n: 1, c: 3, h: h, w: w, o: 5, padding: Padding2D(1), seed: 300 + UInt64(i))
        }
    }

    func testWinogradPaddingCases() {
        winogradCheck(n: 1, c: 2, h: 7, w: 6, o: 3, padding: .zero, seed: 310)
        winogradCheck(n: 2, c: 3, h: 5, w: 9, o: 2, padding: Padding2D(2), seed: 311)
        winogradCheck(n: 1, c: 4, h: 6, w: 5, o: 3, padding: Padding2D(left: 0, right: 1, top: 2, bottom: 0), seed: 312)
        winogradCheck(n: 1, c: 1, h: 3, w: 3, o: 1, padding: .zero, seed: 313)   // a single output
        winogradCheck(n: 1, c: 2, h: 1, w: 4, o: 2, padding: Padding2D(left: 1, right: 1, top: 1, bottom: 1), seed: 314)
    }

    func testWinogradBatchesAndBias() {
        winogradCheck(n: 3, c: 7, h: 9, w: 9, o: 11, padding: Padding2D(1), seed: 320)
        winogradCheck(n: 3, c: 7, h: 9, w: 9, o: 11, padding: Padding2D(1), bias: false, seed: 321)
        winogradCheck(n: 2, c: 13, h: 5, w: 7, o: 9, padding: Padding2D(1), bias: false, seed: 322)
    }

    func testWinogradChunksOfTiles() {
        // A budget of a few tiles per chunk: chunks cut across tile rows and images.
        let saved = WinogradGeometry.scratchBudget
        WinogradGeometry.scratchBudget = 1
        defer { WinogradGeometry.scratchBudget = saved }
        winogradCheck(n: 3, c: 5, h: 11, w: 9, o: 6, padding: Padding2D(1), seed: 330)
        WinogradGeometry.scratchBudget = 36 * 11 * 17
        winogradCheck(n: 2, c: 5, h: 13, w: 10, o: 6, padding: Padding2D(1), bias: false, seed: 331)
    }

    func testWinogradBlocksOfOutputChannels() {
        // A weight transformed in the call goes block by block (8 output channels at the least here:
        // 8 + 8 + 4), with chunks of tiles as well; a pre-transformed one in the same blocks.
        let (savedScratch, savedFilter) = (WinogradGeometry.scratchBudget, WinogradGeometry.filterBlockBudget)
        WinogradGeometry.filterBlockBudget = 1
        defer { (WinogradGeometry.scratchBudget, WinogradGeometry.filterBlockBudget) = (savedScratch, savedFilter) }
        winogradCheck(n: 2, c: 6, h: 7, w: 9, o: 20, padding: Padding2D(1), seed: 335)
        WinogradGeometry.scratchBudget = 1
        winogradCheck(n: 2, c: 6, h: 7, w: 9, o: 20, padding: Padding2D(1), bias: false, seed: 336)
    }

    func testWinogradAgreesWithIm2colAtWiderChannels() {
        var rng = TestRandom(seed: 340)
        let (c, o) = (67, 45)
        let x = rng.tensor([2, c, 12, 11]), w = rng.tensor([o, c, 3, 3], -0.2, 0.2), b = rng.tensor([o])
        let reference = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .im2col)
        for variant in WinogradVariant.allCases {
            let y = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .winograd(variant))
            XCTAssertLessThan(winogradRelativeError(y, reference), 2e-6, "\(variant)")
        }
    }

    func testWinogradIsBitIdenticalAcrossThreadCounts() {
        BLASThreads.set(1)
        var rng = TestRandom(seed: 350)
        let x = rng.tensor([2, 24, 19, 23]), w = rng.tensor([13, 24, 3, 3]), b = rng.tensor([13])
        for variant in WinogradVariant.allCases {
            let results = [1, 2, 3].map { threads in
                TensorThreads.with(threads) { x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .winograd(variant)) }
            }
            for r in results.dropFirst() {
                XCTAssertTrue(r.scalars.map(\.bitPattern) == results[0].scalars.map(\.bitPattern), "\(variant)")
            }
            let filters = [1, 3].map { threads in TensorThreads.with(threads) { WinogradFilter(weight: w, variant: variant) } }
            XCTAssertEqual(filters[0].transformed.map(\.bitPattern), filters[1].transformed.map(\.bitPattern))
        }
    }

    func testWinogradDispatch() {
        let saved = Conv2DPreference.current
        defer { Conv2DPreference.current = saved }
        Conv2DPreference.current = .automatic
        let one = Padding2D(1)
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 320, 64, 64], weight: [320, 320, 3, 3], stride: 1, padding: one), .winograd(.f4x3))
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 320, 64, 64], weight: [320, 320, 3, 3], stride: 2, padding: one), .im2col)
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 320, 64, 64], weight: [320, 320, 1, 1], stride: 1, padding: .zero), .pointwise)
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 32, 64, 64], weight: [32, 32, 3, 3], stride: 1, padding: one), .im2col)
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 4, 64, 64], weight: [320, 4, 3, 3], stride: 1, padding: one), .winograd(.f4x3))
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 1280, 4, 4], weight: [1280, 1280, 3, 3], stride: 1, padding: one), .im2col)
        // Transformed per call: F(2,3) at 16x16, im2col at 8x8; a filter transformed beforehand changes that
        // where it is of the recommended variant.
        func choice(_ side: Int, _ pre: WinogradVariant?) -> Conv2DAlgorithm {
            Tensor.conv2dAlgorithm(input: [2, 1280, side, side], weight: [1280, 1280, 3, 3], stride: 1, padding: one, pretransformed: pre)
        }
        XCTAssertEqual(choice(16, nil), .winograd(.f2x3))
        XCTAssertEqual(choice(16, .f4x3), .winograd(.f4x3))
        XCTAssertEqual(choice(8, nil), .im2col)
        XCTAssertEqual(choice(8, .f2x3), .winograd(.f2x3))
        XCTAssertEqual(choice(8, .f4x3), .im2col)
        XCTAssertEqual(choice(64, .f2x3), .winograd(.f4x3))
        XCTAssertEqual(WinogradFilter.recommendedVariant(inputChannels: 1280, outputChannels: 1280, outputHeight: 8, outputWidth: 8), .f2x3)
        XCTAssertNil(WinogradFilter.recommendedVariant(inputChannels: 1280, outputChannels: 1280, outputHeight: 4, outputWidth: 4))
        Conv2DPreference.current = .im2col
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 320, 64, 64], weight: [320, 320, 3, 3], stride: 1, padding: one), .im2col)
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 320, 64, 64], weight: [320, 320, 1, 1], stride: 1, padding: .zero), .pointwise)
        Conv2DPreference.current = .winograd
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 4, 5, 5], weight: [3, 4, 3, 3], stride: 1, padding: one), .winograd(.f4x3))
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 4, 5, 5], weight: [3, 4, 3, 3], stride: 1, padding: one,
                                              pretransformed: .f2x3), .winograd(.f2x3))
        XCTAssertEqual(Tensor.conv2dAlgorithm(input: [2, 4, 5, 5], weight: [3, 4, 3, 3], stride: 2, padding: one), .im2col)
        // conv2d follows the choice, with or without a pre-transformed weight.
        var rng = TestRandom(seed: 360)
        let x = rng.tensor([1, 4, 6, 7]), w = rng.tensor([3, 4, 3, 3]), b = rng.tensor([3])
        let filter = WinogradFilter(weight: w, variant: .f2x3)
        XCTAssertEqual(x.conv2d(weight: w, bias: b, padding: one, winograd: filter).scalars,
                       x.conv2d(winograd: filter, bias: b, padding: one).scalars)
        XCTAssertEqual(x.conv2d(weight: w, bias: b, padding: 1).scalars,
                       x.conv2d(weight: w, bias: b, padding: one, using: .winograd(.f4x3)).scalars)
        Conv2DPreference.current = .im2col
        XCTAssertEqual(x.conv2d(weight: w, bias: b, padding: one, winograd: filter).scalars,
                       x.conv2d(weight: w, bias: b, padding: one, using: .im2col).scalars)
    }

    /// Float32 accuracy at SD-like sizes against im2col (N(0,1) inputs, weights of std 1/sqrt(9C)); slow,
    /// so only with WINOGRAD_ACCURACY=1. Prints max |diff| / max |output| per variant.
    func testWinogradAccuracyAtStableDiffusionSizes() throws {
        guard ProcessInfo.processInfo.environment["WINOGRAD_ACCURACY"] == "1" else {
            throw XCTSkip("set WINOGRAD_ACCURACY=1 to measure")
        }
        var rng = TestRandom(seed: 370)
        func normal(_ shape: [Int], std: Float) -> Tensor {
            let count = shape.reduce(1, *)
            var s = [Float](repeating: 0, count: count)
            for i in 0..<count {
                let u1 = max(Double(rng.uniform(0, 1)), 1e-12), u2 = Double(rng.uniform(0, 1))
                s[i] = std * Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
            }
            return Tensor(shape: shape, scalars: s)
        }
        for (c, o, side) in [(320, 320, 32), (640, 640, 16), (1280, 1280, 16), (2560, 1280, 8)] {
            let x = normal([2, c, side, side], std: 1), w = normal([o, c, 3, 3], std: 1 / Float(9 * c).squareRoot())
            let b = normal([o], std: 0.1)
            let reference = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .im2col)
            let scale = Double(reference.scalars.map(abs).max()!)
            // Exact (Double) values at 400 sampled outputs, to put im2col's own error beside Winograd's.
            let samples = (0..<400).map { _ in Int(rng.next() % UInt64(reference.count)) }
            func exact(_ index: Int) -> Double {
                let plane = side * side
                let (img, oc, oy, ox) = (index / (o * plane), (index / plane) % o, (index % plane) / side, index % side)
                var s = Double(b.scalars[oc])
                for ic in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                    let iy = oy - 1 + ky, ix = ox - 1 + kx
                    guard iy >= 0, iy < side, ix >= 0, ix < side else { continue }
                    s += Double(x.scalars[((img * c + ic) * side + iy) * side + ix]) * Double(w.scalars[((oc * c + ic) * 3 + ky) * 3 + kx])
                } } }
                return s
            }
            let exacts = samples.map(exact)
            func sampledError(_ t: Tensor) -> Double {
                zip(samples, exacts).map { abs(Double(t.scalars[$0]) - $1) }.max()! / scale
            }
            var line = "C \(c) -> \(o) @\(side)x\(side): im2col vs exact \(String(format: "%.2e", sampledError(reference)))"
            for variant in WinogradVariant.allCases {
                let y = x.conv2d(weight: w, bias: b, padding: Padding2D(1), using: .winograd(variant))
                line += String(format: "; %@ vs im2col %.2e, vs exact %.2e", variant.rawValue,
                               winogradRelativeError(y, reference), sampledError(y))
            }
            print(line)
        }
    }
}
