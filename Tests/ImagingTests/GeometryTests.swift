import XCTest
@testable import Imaging

final class GeometryTests: XCTestCase {
    /// A 1-row image from gray values.
    private func row(_ values: [UInt8]) -> RGBImage {
        RGBImage(width: values.count, height: 1, pixels: values.flatMap { [$0, $0, $0] })
    }

    private func grays(_ image: RGBImage) -> [UInt8] { stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] } }

    func testCropPicksTheRightPixels() throws {
        var image = RGBImage(width: 5, height: 4)
        for y in 0..<4 { for x in 0..<5 { image[x, y] = RGBColor(UInt8(x), UInt8(y), UInt8(10 * x + y)) } }
        let part = try image.crop(x: 1, y: 2, width: 3, height: 2)
        XCTAssertEqual([part.width, part.height], [3, 2])
        XCTAssertEqual(part[0, 0], RGBColor(1, 2, 12))
        XCTAssertEqual(part[2, 1], RGBColor(3, 3, 33))
        XCTAssertEqual(try image.crop(x: 0, y: 0, width: 5, height: 4), image)
    }

    func testCropOutsideThrowsAClearMessage() {
        let image = RGBImage(width: 16, height: 12)
        assertImagingError(try image.crop(x: 10, y: 0, width: 7, height: 5)) {
            $0 == .invalidArgument("crop of 7x5 at (10, 0) does not fit in the 16x12 image")
        }
        assertImagingError(try image.crop(x: -1, y: 0, width: 2, height: 2)) { if case .invalidArgument = $0 { return true } else { return false } }
        assertImagingError(try image.crop(x: 0, y: 0, width: 0, height: 2)) { if case .invalidArgument = $0 { return true } else { return false } }
        assertImagingError(try image.crop(x: 0, y: 1, width: 1, height: Int.max)) { if case .invalidArgument = $0 { return true } else { return false } }
    }

    func testClampingCrop() {
        let image = RGBImage(width: 10, height: 8)
        let part = image.crop(clampingX: -3.5, y: 6.2, width: 5, height: 10)
        XCTAssertEqual(part.map { [$0.width, $0.height] }, [2, 2])  // columns 0..<2, rows 6..<8
        XCTAssertNil(image.crop(clampingX: 20, y: 0, width: 5, height: 5))
        XCTAssertNil(image.crop(clampingX: .nan, y: 0, width: 5, height: 5))
    }

    func testUniformImageStaysUniform() {
        let color = RGBColor(37, 141, 250)
        let image = RGBImage(width: 37, height: 23, color: color)
        for (w, h) in [(10, 7), (13, 23), (80, 41), (1, 1), (37, 5), (100, 3)] {
            let out = image.resized(width: w, height: h)
            XCTAssertEqual([out.width, out.height], [w, h])
            XCTAssertEqual(out, RGBImage(width: w, height: h, color: color), "\(w)x\(h)")
        }
    }

    func testTwoByTwoShrinkAverages() {
        let image = RGBImage(width: 2, height: 2, pixels: [0, 100, 7, 10, 200, 7, 20, 0, 8, 30, 50, 8])
        let out = image.resized(width: 1, height: 1)
        XCTAssertEqual(out.pixels, [15, 88, 8])  // (0+10+20+30)/4, (100+200+0+50)/4 = 87.5 -> 88, 7.5 -> 8
    }

    func testIntegerShrinkOfGradient() {
        let out = row([0, 10, 20, 30, 40, 50, 60, 70]).resized(width: 4, height: 1)
        XCTAssertEqual(grays(out), [5, 25, 45, 65])
        let third = row([0, 30, 60, 90, 120, 150]).resized(width: 2, height: 1)
        XCTAssertEqual(grays(third), [30, 120])
    }

    func testFractionalShrinkUsesPartialCoverage() {
        // 3 -> 2: output 0 covers [0, 1.5) = p0 + half of p1; output 1 covers [1.5, 3).
        let out = row([0, 30, 60]).resized(width: 2, height: 1)
        XCTAssertEqual(grays(out), [10, 50])  // (0 + 15) / 1.5, (15 + 60) / 1.5
        // Vertically too.
        let column = RGBImage(width: 1, height: 3, pixels: [0, 0, 0, 30, 30, 30, 60, 60, 60]).resized(width: 1, height: 2)
        XCTAssertEqual(grays(column), [10, 50])
    }

    func testBilinearEnlargeAlignsPixelCentres() {
        // src = (dst + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped 0, 0.25, 0.75, 1.
        let out = row([0, 100]).resized(width: 4, height: 1)
        XCTAssertEqual(grays(out), [0, 25, 75, 100])
        let big = row([0, 90, 180]).resized(width: 9, height: 1)
        // src = (d + 0.5) / 3 - 0.5: -1/3, 0, 1/3, 2/3, 1, 4/3, 5/3, 2, 7/3
        XCTAssertEqual(grays(big), [0, 0, 30, 60, 90, 120, 150, 180, 180])
    }

    func testMixedShrinkAndEnlarge() {
        var image = RGBImage(width: 4, height: 2)
        for x in 0..<4 { image[x, 0] = RGBColor(UInt8(x * 20), 0, 0); image[x, 1] = RGBColor(UInt8(x * 20), 0, 0) }
        let out = image.resized(width: 2, height: 4)
        XCTAssertEqual(out[0, 0].r, 10)
        XCTAssertEqual(out[1, 3].r, 50)
    }

    func testSameSizeIsIdentity() {
        let image = smoothImage(width: 9, height: 7)
        XCTAssertEqual(image.resized(width: 9, height: 7), image)
    }

    func testResizeIsSymmetricOnASymmetricImage() {
        // A left-right mirrored image must stay mirrored (no half-pixel shift).
        var image = RGBImage(width: 7, height: 1)
        for x in 0..<7 { let v = UInt8(abs(x - 3) * 40); image[x, 0] = RGBColor(v, v, v) }
        for w in [3, 4, 5, 10, 13] {
            let g = grays(image.resized(width: w, height: 1))
            XCTAssertEqual(g, g.reversed(), "width \(w): \(g)")
        }
    }

    func testKeepingAspect() {
        let image = RGBImage(width: 640, height: 480)
        let short = image.resizedKeepingAspect(shortSide: 240)
        XCTAssertEqual([short.width, short.height], [320, 240])
        let tall = RGBImage(width: 30, height: 100).resizedKeepingAspect(shortSide: 7)
        XCTAssertEqual([tall.width, tall.height], [7, 23])
        let long = image.resizedKeepingAspect(longSide: 100)
        XCTAssertEqual([long.width, long.height], [100, 75])
        let fit = image.resizedToFit(maxWidth: 100, maxHeight: 100)
        XCTAssertEqual([fit.width, fit.height], [100, 75])
        let small = RGBImage(width: 10, height: 20)
        XCTAssertEqual(small.resizedToFit(maxWidth: 100, maxHeight: 100), small)
        let up = small.resizedToFit(maxWidth: 100, maxHeight: 100, allowUpscaling: true)
        XCTAssertEqual([up.width, up.height], [50, 100])
    }

    func testPasteAndFillClip() {
        var canvas = RGBImage(width: 4, height: 3, color: .white)
        canvas.paste(RGBImage(width: 3, height: 3, color: .black), x: 2, y: -1)
        XCTAssertEqual(canvas[1, 0], .white)
        XCTAssertEqual(canvas[2, 0], .black)
        XCTAssertEqual(canvas[3, 1], .black)
        XCTAssertEqual(canvas[3, 2], .white)
        canvas.fill(x: -10, y: 2, width: 11, height: 100, color: .red)
        XCTAssertEqual(canvas[0, 2], .red)
        XCTAssertEqual(canvas[1, 2], .white)
    }
}
