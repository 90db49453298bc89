import XCTest
@testable import Tensors

final class ConvTests: XCTestCase {
    /// Direct convolution in Double.
    private func reference(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, _ p: Padding2D) -> (shape: [Int], values: [Double]) {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + p.top + p.bottom - kh) / stride + 1, ow = (wd + p.left + p.right - kw) / stride + 1
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for img in 0..<n { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            var s = b.map { Double($0.scalars[oc]) } ?? 0
            for ic in 0..<c { for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * stride - p.top + ky, ix = ox * stride - p.left + kx
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                s += Double(x.scalars[((img * c + ic) * h + iy) * wd + ix]) * Double(w.scalars[((oc * c + ic) * kh + ky) * kw + kx])
            } } }
            out[((img * o + oc) * oh + oy) * ow + ox] = s
        } } } }
        return ([n, o, oh, ow], out)
    }

    private func check(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, stride: Int, padding: Padding2D,
                       bias: Bool = true, seed: UInt64, line: UInt = #line) {
        var rng = TestRandom(seed: seed)
        let x = rng.tensor([n, c, h, w]), wt = rng.tensor([o, c, kh, kw]), b = bias ? rng.tensor([o]) : nil
        let (shape, expected) = reference(x, wt, b, stride: stride, padding)
        assertClose(x.conv2d(weight: wt, bias: b, stride: stride, padding: padding), expected, shape: shape,
                    "conv \(kh)x\(kw) s\(stride) \(padding)", line: line)
    }

    func testThreeByThreePadOne() {
        check(n: 2, c: 3, h: 7, w: 5, o: 4, kh: 3, kw: 3, stride: 1, padding: Padding2D(1), seed: 10)
    }

    func testStrideTwoWithAsymmetricPadding() {
        // diffusers' VAE Downsample2D: pad (left 0, right 1, top 0, bottom 1), then 3x3 stride 2, padding 0.
        check(n: 2, c: 3, h: 7, w: 5, o: 4, kh: 3, kw: 3, stride: 2, padding: Padding2D(left: 0, right: 1, top: 0, bottom: 1), seed: 11)
        check(n: 1, c: 3, h: 8, w: 6, o: 2, kh: 3, kw: 3, stride: 2, padding: Padding2D(left: 2, right: 0, top: 1, bottom: 3), seed: 12)
        check(n: 1, c: 2, h: 7, w: 5, o: 3, kh: 3, kw: 3, stride: 2, padding: Padding2D(1), bias: false, seed: 13)
        // Explicit F.pad then an unpadded conv is the same as padding inside the conv.
        var rng = TestRandom(seed: 14)
        let x = rng.tensor([1, 3, 7, 5]), wt = rng.tensor([2, 3, 3, 3])
        let pad = Padding2D(left: 0, right: 1, top: 0, bottom: 1)
        XCTAssertEqual(x.padded2D(pad).conv2d(weight: wt, stride: 2).scalars, x.conv2d(weight: wt, stride: 2, padding: pad).scalars)
    }

    func testNonSquareKernelAndStrideThree() {
        check(n: 1, c: 2, h: 9, w: 11, o: 3, kh: 5, kw: 3, stride: 3, padding: Padding2D(left: 1, right: 2, top: 2, bottom: 0), seed: 15)
    }

    func testOneByOneConvolution() {
        check(n: 2, c: 5, h: 3, w: 7, o: 6, kh: 1, kw: 1, stride: 1, padding: .zero, seed: 16)
        check(n: 2, c: 5, h: 3, w: 7, o: 6, kh: 1, kw: 1, stride: 1, padding: .zero, bias: false, seed: 17)
        // 1x1 with stride or padding takes the im2col path.
        check(n: 1, c: 4, h: 5, w: 5, o: 3, kh: 1, kw: 1, stride: 2, padding: Padding2D(1), seed: 18)
    }

    func testColumnTilesThatSplitOutputRows() {
        let saved = ConvGeometry.columnBudget
        ConvGeometry.columnBudget = 1   // tiles of 16 output positions: rows of 5 split across tiles
        defer { ConvGeometry.columnBudget = saved }
        check(n: 2, c: 3, h: 7, w: 5, o: 4, kh: 3, kw: 3, stride: 1, padding: Padding2D(1), seed: 19)
        check(n: 2, c: 3, h: 9, w: 7, o: 4, kh: 3, kw: 3, stride: 2, padding: Padding2D(left: 0, right: 1, top: 0, bottom: 1), seed: 20)
    }

    func testImagesBatchedIntoOneProduct() {
        let saved = ConvGeometry.columnBudget
        ConvGeometry.columnBudget = 2000   // 27 x 35 = 945 unfolded floats per image: two images per product
        defer { ConvGeometry.columnBudget = saved }
        check(n: 3, c: 3, h: 7, w: 5, o: 4, kh: 3, kw: 3, stride: 1, padding: Padding2D(1), seed: 21)
        check(n: 3, c: 3, h: 7, w: 5, o: 4, kh: 3, kw: 3, stride: 1, padding: Padding2D(1), bias: false, seed: 22)
        check(n: 2, c: 3, h: 9, w: 7, o: 4, kh: 3, kw: 3, stride: 2, padding: Padding2D(left: 0, right: 1, top: 0, bottom: 1), seed: 23)
    }

    func testPadded2DPlacesZerosAroundTheImage() {
        let x = Tensor(shape: [1, 1, 2, 2], scalars: [1, 2, 3, 4])
        let p = x.padded2D(Padding2D(left: 1, right: 0, top: 0, bottom: 1))
        XCTAssertEqual(p.shape, [1, 1, 3, 3])
        XCTAssertEqual(p.scalars, [0, 1, 2, 0, 3, 4, 0, 0, 0])
    }
}
