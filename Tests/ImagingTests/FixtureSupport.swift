import Foundation
import XCTest
@testable import Imaging

/// Access to Tests/ImagingTests/Fixtures (made by tools/make_jpeg_fixtures.py).
enum Fixture {
    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: url(name).path),
                                 "missing fixture \(name)", file: file, line: line)
        return [UInt8](data)
    }

    /// Pillow's decode of `NAME.jpg`, stored as `NAME.rgb`.
    static func expected(_ name: String, width: Int, height: Int) throws -> RGBImage {
        let raw = try bytes(name + ".rgb")
        XCTAssertEqual(raw.count, width * height * 3, "\(name).rgb has the wrong size")
        return RGBImage(width: width, height: height, pixels: raw)
    }
}

/// A smooth colour image (gradients + a soft blob), good for JPEG quality checks.
func smoothImage(width: Int, height: Int) -> RGBImage {
    var image = RGBImage(width: width, height: height)
    for y in 0..<height {
        for x in 0..<width {
            let fx = Double(x) / Double(max(1, width - 1)), fy = Double(y) / Double(max(1, height - 1))
            let dx = fx - 0.5, dy = fy - 0.5
            let blob = exp(-(dx * dx + dy * dy) * 8)
            image[x, y] = RGBColor(UInt8(40 + 180 * fx), UInt8(30 + 160 * fy), UInt8(60 + 150 * blob))
        }
    }
    return image
}

/// Asserts that `body` throws an ImagingError for which `matches` holds; returns it.
@discardableResult
func assertImagingError<T>(_ body: @autoclosure () throws -> T, _ message: String = "",
                           file: StaticString = #filePath, line: UInt = #line,
                           where matches: (ImagingError) -> Bool) -> ImagingError? {
    do {
        _ = try body()
        XCTFail("expected an ImagingError, got a result. \(message)", file: file, line: line)
    } catch let error as ImagingError {
        XCTAssertTrue(matches(error), "unexpected error: \(error) (\(String(reflecting: error))). \(message)",
                      file: file, line: line)
        return error
    } catch {
        XCTFail("expected an ImagingError, got \(error). \(message)", file: file, line: line)
    }
    return nil
}
