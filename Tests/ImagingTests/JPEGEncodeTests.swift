import Foundation
import XCTest
@testable import Imaging

final class JPEGEncodeTests: XCTestCase {
    func testRoundTripPSNRAbove40dBAtQuality95() throws {
        let image = smoothImage(width: 96, height: 64)
        for subsampling in ChromaSubsampling.allCases {
            let bytes = try JPEG.encode(image, subsampling: subsampling)
            let decoded = try JPEG.decode(bytes)
            XCTAssertEqual(decoded.sourceColorSpace, .ycbcr)
            let psnr = ImageComparison.psnr(image, decoded.image)
            XCTAssertGreaterThan(psnr, 40, "\(subsampling.rawValue): PSNR \(psnr)")
        }
    }

    func testLowQualityIsSmallerAndWorse() throws {
        let image = smoothImage(width: 96, height: 64)
        let high = try JPEG.encode(image, quality: 95), low = try JPEG.encode(image, quality: 20)
        XCTAssertLessThan(low.count, high.count)
        let psnrHigh = ImageComparison.psnr(image, try JPEG.decode(high).image)
        let psnrLow = ImageComparison.psnr(image, try JPEG.decode(low).image)
        XCTAssertLessThan(psnrLow, psnrHigh)
    }

    func testEncodingIsDeterministic() throws {
        let image = smoothImage(width: 40, height: 30)
        let a = try JPEG.encode(image), b = try JPEG.encode(image)
        XCTAssertEqual(a, b)
        XCTAssertEqual(Array(a.prefix(2)), [0xFF, 0xD8])
        XCTAssertEqual(Array(a.suffix(2)), [0xFF, 0xD9])
        // No COM (FF FE) marker: nothing varies between runs or machines.
        let sos = try XCTUnwrap((0..<a.count - 1).first { a[$0] == 0xFF && a[$0 + 1] == 0xDA })
        XCTAssertFalse((0..<sos).contains { a[$0] == 0xFF && a[$0 + 1] == 0xFE })
    }

    func testSubsamplingAffectsColourEdges() throws {
        // One-pixel red/blue stripes: 4:4:4 keeps them, 4:2:0 smears the colour.
        var image = RGBImage(width: 32, height: 32)
        for y in 0..<32 { for x in 0..<32 { image[x, y] = x % 2 == 0 ? RGBColor(220, 20, 20) : RGBColor(20, 20, 220) } }
        let full = try JPEG.decode(JPEG.encode(image, subsampling: .yuv444)).image
        let half = try JPEG.decode(JPEG.encode(image, subsampling: .yuv420)).image
        XCTAssertGreaterThan(ImageComparison.psnr(image, full), ImageComparison.psnr(image, half) + 5)
    }

    func testOddSizesAndOnePixel() throws {
        for (w, h) in [(1, 1), (17, 9), (3, 50)] {
            let image = RGBImage(width: w, height: h, color: RGBColor(10, 200, 90))
            let decoded = try JPEG.decode(JPEG.encode(image))
            XCTAssertEqual([decoded.image.width, decoded.image.height], [w, h])
            XCTAssertLessThanOrEqual(ImageComparison.maxAbsDifference(image, decoded.image), 3)
        }
    }

    func testInvalidArguments() {
        let image = RGBImage(width: 4, height: 4)
        assertImagingError(try JPEG.encode(image, quality: 0)) { $0 == .invalidArgument("JPEG quality 0 is outside 1...100") }
        assertImagingError(try JPEG.encode(image, quality: 101)) { if case .invalidArgument = $0 { return true } else { return false } }
        assertImagingError(try JPEG.encode(RGBImage(width: 0, height: 5))) {
            if case .invalidArgument(let m) = $0 { return m.contains("0x5") } else { return false }
        }
    }

    func testWriteFileAndReadBack() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("imaging-tests-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("out.jpg")
        let image = smoothImage(width: 20, height: 10)
        try JPEG.write(image, to: url)
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), try JPEG.encode(image))
        XCTAssertEqual(try JPEG.decode(contentsOf: url).image.width, 20)
        // Only the file itself is left: the temporary file was renamed.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["out.jpg"])

        let bad = directory.appendingPathComponent("missing-dir/out.jpg")
        assertImagingError(try JPEG.write(image, to: bad)) {
            if case .fileWrite(let path, let reason) = $0 { return path == bad.path && reason == "No such file or directory" }
            return false
        }
    }

    func testPPM() {
        let image = RGBImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(PPM.encode(image), Array("P6\n2 1\n255\n".utf8) + [1, 2, 3, 4, 5, 6])
    }
}
