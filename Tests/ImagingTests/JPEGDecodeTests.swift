import XCTest
@testable import Imaging

/// Our libjpeg-turbo decode against Pillow's decode of the same files.
final class JPEGDecodeTests: XCTestCase {
    private func assertMatchesPillow(_ name: String, width: Int, height: Int, colorSpace: JPEGColorSpace,
                                     file: StaticString = #filePath, line: UInt = #line) throws {
        let decoded = try JPEG.decode(Fixture.bytes(name + ".jpg"))
        XCTAssertEqual(decoded.image.width, width, file: file, line: line)
        XCTAssertEqual(decoded.image.height, height, file: file, line: line)
        XCTAssertEqual(decoded.sourceColorSpace, colorSpace, file: file, line: line)
        XCTAssertEqual(decoded.warnings, [], file: file, line: line)
        let expected = try Fixture.expected(name, width: width, height: height)
        let diff = ImageComparison.maxAbsDifference(decoded.image, expected)
        XCTAssertLessThanOrEqual(diff, 2, "\(name): max abs diff to Pillow", file: file, line: line)
    }

    func testRGBMatchesPillow() throws {
        try assertMatchesPillow("rgb_16x12", width: 16, height: 12, colorSpace: .ycbcr)
    }

    func testOddSizeMatchesPillow() throws {
        try assertMatchesPillow("rgb_odd_15x9", width: 15, height: 9, colorSpace: .ycbcr)
    }

    func testProgressiveMatchesPillow() throws {
        try assertMatchesPillow("rgb_progressive_16x12", width: 16, height: 12, colorSpace: .ycbcr)
        XCTAssertTrue(try JPEG.readHeader(Fixture.bytes("rgb_progressive_16x12.jpg")).isProgressive)
    }

    func testGrayscaleIsReplicatedAndMatchesPillow() throws {
        try assertMatchesPillow("gray_16x12", width: 16, height: 12, colorSpace: .grayscale)
        let image = try JPEG.decode(Fixture.bytes("gray_16x12.jpg")).image
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            XCTAssertEqual(image.pixels[i], image.pixels[i + 1])
            XCTAssertEqual(image.pixels[i], image.pixels[i + 2])
        }
    }

    func testAdobeInvertedCMYKMatchesPillow() throws {
        try assertMatchesPillow("cmyk_16x12", width: 16, height: 12, colorSpace: .cmyk)
    }

    func testPlainCMYKWithoutAdobeMarkerIsNotInverted() throws {
        try assertMatchesPillow("cmyk_noadobe_16x12", width: 16, height: 12, colorSpace: .cmyk)
        // Both files hold the same colours, once inverted (Adobe) and once plain.
        let adobe = try JPEG.decode(Fixture.bytes("cmyk_16x12.jpg")).image
        let plain = try JPEG.decode(Fixture.bytes("cmyk_noadobe_16x12.jpg")).image
        XCTAssertLessThanOrEqual(ImageComparison.maxAbsDifference(adobe, plain), 2)
    }

    func testCMYKPatternColoursComeOutRight() throws {
        // Fixture pixel (0, 0) is ink C=0 M=0 Y=20 K=0: nearly white with a little less blue.
        let image = try JPEG.decode(Fixture.bytes("cmyk_16x12.jpg")).image
        let p = image[0, 0]
        XCTAssertGreaterThan(p.r, 245)
        XCTAssertGreaterThan(p.g, 245)
        XCTAssertLessThan(p.b, 245)
        // Bottom right: C=240 M=231 Y=180/20 K=60: dark.
        let q = image[15, 11]
        XCTAssertLessThan(Int(q.r), 40)
    }

    func testYCCKAndCMYKDecodeToTheSameColours() throws {
        // libjpeg writes an Adobe marker for 4-component output, so the data is taken as inverted:
        // store 255 - ink, as Photoshop does. Expected RGB, Pillow's formula: R = (255-K) - C*(255-K)/255.
        let width = 16, height = 8
        var cmyk = [UInt8]()
        var expected = RGBImage(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let ink = [x * 16, y * 32, 128, x < 8 ? 0 : 100]
                cmyk += ink.map { UInt8(255 - $0) }
                let nk = 255 - ink[3]
                func channel(_ c: Int) -> UInt8 { let t = c * nk + 128; return UInt8(nk - (((t >> 8) + t) >> 8)) }
                expected[x, y] = RGBColor(channel(ink[0]), channel(ink[1]), channel(ink[2]))
            }
        }
        let plainBytes = try JPEG.encodeCMYK(cmyk, width: width, height: height, quality: 100, ycck: false)
        let ycckBytes = try JPEG.encodeCMYK(cmyk, width: width, height: height, quality: 100, ycck: true)
        let plainHeader = try JPEG.readHeader(plainBytes), ycckHeader = try JPEG.readHeader(ycckBytes)
        XCTAssertEqual(plainHeader.colorSpace, .cmyk)
        XCTAssertEqual(ycckHeader.colorSpace, .ycck)
        XCTAssertTrue(ycckHeader.isInvertedCMYK)
        XCTAssertEqual(ycckHeader.components, 4)

        let plain = try JPEG.decode(plainBytes), ycck = try JPEG.decode(ycckBytes)
        XCTAssertEqual(ycck.sourceColorSpace, .ycck)
        XCTAssertLessThanOrEqual(ImageComparison.maxAbsDifference(plain.image, expected), 4)
        XCTAssertLessThanOrEqual(ImageComparison.maxAbsDifference(ycck.image, expected), 6)
    }

    func testHeaders() throws {
        let rgb = try JPEG.readHeader(Fixture.bytes("rgb_16x12.jpg"))
        XCTAssertEqual(rgb, JPEGHeader(width: 16, height: 12, components: 3, colorSpace: .ycbcr))

        let odd = try JPEG.readHeader(Fixture.bytes("rgb_odd_15x9.jpg"))
        XCTAssertEqual([odd.width, odd.height], [15, 9])

        let gray = try JPEG.readHeader(Fixture.bytes("gray_16x12.jpg"))
        XCTAssertEqual(gray.components, 1)
        XCTAssertEqual(gray.colorSpace, .grayscale)

        let cmyk = try JPEG.readHeader(Fixture.bytes("cmyk_16x12.jpg"))
        XCTAssertEqual(cmyk.components, 4)
        XCTAssertEqual(cmyk.colorSpace, .cmyk)
        XCTAssertTrue(cmyk.hasAdobeMarker)
        XCTAssertTrue(cmyk.isInvertedCMYK)

        let plain = try JPEG.readHeader(Fixture.bytes("cmyk_noadobe_16x12.jpg"))
        XCTAssertEqual(plain.colorSpace, .cmyk)
        XCTAssertFalse(plain.hasAdobeMarker)
        XCTAssertFalse(plain.isInvertedCMYK)
    }

    func testDecodeFromFileURL() throws {
        let decoded = try JPEG.decode(contentsOf: Fixture.url("rgb_16x12.jpg"))
        XCTAssertEqual(decoded.image.width, 16)
        let header = try JPEG.readHeader(contentsOf: Fixture.url("gray_16x12.jpg"))
        XCTAssertEqual(header.colorSpace, .grayscale)
    }
}
