import Foundation
import XCTest
import Support

final class BinaryRecordTests: XCTestCase {
    func testValuesComeBackInOrderAndAForeignOrShortFileIsRefused() throws {
        var out = BinaryWriter(tag: "kind-1")
        out.int(-7)
        out.ints([1, -2, Int.max, Int.min])
        out.doubles([0.1, -0.0, .infinity, 3])
        out.strings(["a", "", "é/x y"])
        out.blob([0, 255])
        var reader = try BinaryReader(bytes: out.bytes, file: "f.bin", tag: "kind-1")
        XCTAssertEqual(try reader.int(), -7)
        XCTAssertEqual(try reader.ints(), [1, -2, Int.max, Int.min])
        let doubles = try reader.doubles()
        XCTAssertEqual(doubles.map(\.bitPattern), [0.1, -0.0, .infinity, 3].map(\.bitPattern))
        XCTAssertEqual(try reader.strings(), ["a", "", "é/x y"])
        XCTAssertEqual(try reader.blob(), [0, 255])
        XCTAssertTrue(reader.isAtEnd)

        XCTAssertThrowsError(try BinaryReader(bytes: out.bytes, file: "f.bin", tag: "kind-2")) {
            XCTAssertEqual("\($0)", #"f.bin: is a "kind-1" file, not "kind-2""#)
        }
        var short = try BinaryReader(bytes: Array(out.bytes.prefix(40)), file: "f.bin", tag: "kind-1")
        _ = try short.int()
        XCTAssertThrowsError(try short.ints()) { XCTAssertTrue("\($0)".hasPrefix("f.bin: ends early"), "\($0)") }
        // A count larger than the file is refused before anything is allocated.
        var huge = BinaryWriter(tag: "kind-1")
        huge.int(Int.max / 2)
        var hugeReader = try BinaryReader(bytes: huge.bytes, file: "f.bin", tag: "kind-1")
        XCTAssertThrowsError(try hugeReader.doubles())
        var negative = BinaryWriter(tag: "kind-1")
        negative.int(-1)
        var negativeReader = try BinaryReader(bytes: negative.bytes, file: "f.bin", tag: "kind-1")
        XCTAssertThrowsError(try negativeReader.strings()) { XCTAssertTrue("\($0)".contains("negative"), "\($0)") }
    }

    func testReadGivesAFilesBytesAndNamesAMissingOne() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("binary-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: url) }
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try AtomicFile.write(streamingTo: url) { write in
            for chunk in [Array(bytes[..<10]), [], Array(bytes[10...])] { try write(chunk) }
        }
        XCTAssertEqual(try AtomicFile.read(url.path), bytes)
        let mapped = try MappedFile(url.path)
        withExtendedLifetime(mapped) { XCTAssertEqual(Array(mapped.bytes), bytes) }
        struct Stop: Error {}
        XCTAssertThrowsError(try AtomicFile.write(streamingTo: url.appendingPathExtension("half")) { write in
            try write([1, 2])
            throw Stop()
        })
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.appendingPathExtension("half").path))
        XCTAssertThrowsError(try AtomicFile.read(url.path + ".missing")) { XCTAssertTrue("\($0)".contains(".missing"), "\($0)") }
    }
}
