import XCTest
@testable import Imaging

/// Corrupt, truncated and non-JPEG input gives a typed error that says what is wrong.
final class JPEGErrorTests: XCTestCase {
    func testPNGIsNotAJPEG() throws {
        let error = assertImagingError(try JPEG.decode(Fixture.bytes("not_a_jpeg.png"))) {
            if case .notJPEG(let lead) = $0 { return Array(lead.prefix(4)) == [0x89, 0x50, 0x4E, 0x47] }
            return false
        }
        XCTAssertEqual(error?.description, "not a JPEG (starts with 89 50 4E 47: a PNG?)")
        assertImagingError(try JPEG.readHeader(Fixture.bytes("not_a_jpeg.png"))) {
            if case .notJPEG = $0 { return true } else { return false }
        }
    }

    func testEmptyAndTinyData() {
        assertImagingError(try JPEG.decode([])) { $0 == .emptyData }
        assertImagingError(try JPEG.decode([0xFF])) { $0 == .notJPEG(leadingBytes: [0xFF]) }
        let lfs = Array("version https://git-lfs.github.com/spec/v1\n".utf8)
        let error = assertImagingError(try JPEG.decode(lfs)) { if case .notJPEG = $0 { return true } else { return false } }
        XCTAssertTrue(error?.description.contains("Git LFS pointer") ?? false, error?.description ?? "")
    }

    func testTruncatedFileThrowsInStrictMode() throws {
        let bytes = try Fixture.bytes("truncated.jpg")
        let error = assertImagingError(try JPEG.decode(bytes)) { $0 == .truncatedJPEG(detail: "") }
        XCTAssertEqual(error?.description, "truncated JPEG: premature end of data")
        // The header is complete, so reading only the header works.
        let header = try JPEG.readHeader(bytes)
        XCTAssertEqual([header.width, header.height], [48, 48])
    }

    func testTruncatedFileDecodesWithWarningsWhenNotStrict() throws {
        let decoded = try JPEG.decode(Fixture.bytes("truncated.jpg"), strict: false)
        XCTAssertEqual(decoded.image.width, 48)
        XCTAssertEqual(decoded.image.height, 48)
        XCTAssertTrue(decoded.warnings.contains("Premature end of JPEG file"), "\(decoded.warnings)")
        // libjpeg fills the missing part with grey (128); the bottom row is all missing.
        let last = decoded.image[47, 47]
        XCTAssertEqual(last, RGBColor(128, 128, 128))
    }

    func testCutInsideTheHeaderIsTruncated() throws {
        let whole = try Fixture.bytes("rgb_16x12.jpg")
        for length in [3, 20, 100, 300] {
            let cut = Array(whole.prefix(length))
            let error = assertImagingError(try JPEG.decode(cut), "cut at \(length)") {
                if case .truncatedJPEG = $0 { return true } else { return false }
            }
            XCTAssertTrue(error?.description.hasPrefix("truncated JPEG: premature end of data") ?? false)
            assertImagingError(try JPEG.readHeader(cut), "header cut at \(length)") {
                if case .truncatedJPEG = $0 { return true } else { return false }
            }
        }
    }

    func testGarbageAfterSOIRunsOffTheEnd() {
        // libjpeg skips the junk looking for a marker, reaches the end of the data and finds no image.
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x02] + [UInt8](repeating: 0x41, count: 64)
        let error = assertImagingError(try JPEG.decode(bytes)) {
            $0 == .truncatedJPEG(detail: "JPEG datastream contains no image")
        }
        XCTAssertEqual(error?.description, "truncated JPEG: premature end of data (JPEG datastream contains no image)")
    }

    func testBadFrameHeaderGivesLibjpegMessage() throws {
        // Set the sample precision in the SOF0 frame header to 12 bits, which this libjpeg cannot read.
        var bytes = try Fixture.bytes("rgb_16x12.jpg")
        let sof = try XCTUnwrap((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC0 })
        bytes[sof + 4] = 12
        let error = assertImagingError(try JPEG.decode(bytes)) { $0 == .invalidJPEG(message: "Unsupported JPEG data precision 12") }
        XCTAssertEqual(error?.description, "invalid JPEG: Unsupported JPEG data precision 12")
        assertImagingError(try JPEG.readHeader(bytes)) { if case .invalidJPEG = $0 { return true } else { return false } }
    }

    func testCorruptScanDataIsAWarningThatStrictModeRejects() throws {
        // Overwrite part of the entropy-coded data with 0xFF 0xD0 (a stray restart marker).
        var bytes = try Fixture.bytes("rgb_16x12.jpg")
        let sos = try XCTUnwrap((0..<bytes.count - 1).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xDA })
        let scanStart = sos + 2 + (Int(bytes[sos + 2]) << 8 | Int(bytes[sos + 3]))
        bytes[scanStart + 10] = 0xFF
        bytes[scanStart + 11] = 0xD3
        let error = assertImagingError(try JPEG.decode(bytes)) {
            if case .corruptJPEG(let warnings) = $0 { return !warnings.isEmpty } else { return false }
        }
        XCTAssertTrue(error?.description.hasPrefix("corrupt JPEG: Corrupt JPEG data") ?? false, error?.description ?? "")
        XCTAssertFalse(try JPEG.decode(bytes, strict: false).warnings.isEmpty)
    }

    func testFileErrorsNameTheFile() throws {
        let png = Fixture.url("not_a_jpeg.png")
        let error = assertImagingError(try JPEG.decode(contentsOf: png)) {
            if case .inFile(let path, .notJPEG) = $0 { return path == png.path } else { return false }
        }
        XCTAssertEqual(error?.description, "\(png.path): not a JPEG (starts with 89 50 4E 47: a PNG?)")
        XCTAssertEqual(error?.underlying, .notJPEG(leadingBytes: Array(try Fixture.bytes("not_a_jpeg.png").prefix(32))))

        let truncated = Fixture.url("truncated.jpg")
        let error2 = assertImagingError(try JPEG.decodeFile(atPath: truncated.path)) {
            $0 == .inFile(path: truncated.path, .truncatedJPEG(detail: ""))
        }
        XCTAssertEqual(error2?.description, "\(truncated.path): truncated JPEG: premature end of data")

        let missing = "/nonexistent/dir/photo.jpg"
        let error3 = assertImagingError(try JPEG.decodeFile(atPath: missing)) {
            $0 == .fileRead(path: missing, reason: "No such file or directory")
        }
        XCTAssertEqual(error3?.description, "/nonexistent/dir/photo.jpg: cannot read: No such file or directory")
    }
}
