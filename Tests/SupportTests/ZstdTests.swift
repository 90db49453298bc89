import XCTest
@testable import Support

final class ZstdTests: XCTestCase {
    func testRoundTripAndDeterminism() throws {
        let input = Array((0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7 / 13) })
        let a = try Zstd.compress(input), b = try Zstd.compress(input)
        XCTAssertEqual(a, b)
        XCTAssertLessThan(a.count, input.count)
        XCTAssertEqual(try Zstd.decompress(a), input)
        XCTAssertThrowsError(try Zstd.decompress(Array(a.prefix(a.count / 2))))
    }
}
