import Foundation
import XCTest
@testable import Tensors

/// Crafted bad files: every one must fail with a WeightError that names the file (and the tensor where
/// there is one) and says what is wrong, never read out of bounds or allocate wildly.
final class SafeTensorsMalformedTests: XCTestCase {
    private func parse(_ bytes: [UInt8]) throws -> SafeTensorsHeader {
        try bytes.withUnsafeBytes { try SafeTensorsHeader.parse(fileBytes: $0, file: "crafted.safetensors") }
    }

    /// Asserts the bytes are rejected with a message containing `fragment` (and `key` when given), both
    /// when parsed from memory and when opened as a file.
    private func assertRejected(_ bytes: [UInt8], _ fragment: String, key: String? = nil,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertThrowsError(try parse(bytes), file: file, line: line) { error in
            guard let e = error as? WeightError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.file, "crafted.safetensors", file: file, line: line)
            XCTAssertTrue(e.message.contains(fragment), "“\(e.message)” lacks “\(fragment)”", file: file, line: line)
            if let key { XCTAssertEqual(e.key, key, file: file, line: line) }
            XCTAssertNotNil(e.hint, file: file, line: line)
        }
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("bad.safetensors")
        try Data(bytes).write(to: url)
        XCTAssertThrowsError(try SafeTensorsFile(url: url), file: file, line: line) { error in
            XCTAssertEqual((error as? WeightError)?.file, url.path, file: file, line: line)
        }
    }

    private let f32Pair = (0..<8).map { _ in UInt8(0) }  // two F32 zeros

    func testValidCraftedFileParses() throws {
        // The baseline the bad files below differ from.
        let header = try parse(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: f32Pair))
        XCTAssertEqual(header.tensors["a"]?.shape, [2])
        XCTAssertEqual(header.dataSize, 8)
    }

    func testTooShortAndTinyHeader() throws {
        try assertRejected([], "too short")
        try assertRejected([1, 0, 0], "too short")
        try assertRejected(SafeTensorsFixtures.craft("{", length: 1), "at least `{}`")
        try assertRejected(SafeTensorsFixtures.craft("", length: 0), "at least `{}`")
    }

    func testHeaderLengthLargerThanFile() throws {
        try assertRejected(SafeTensorsFixtures.craft("{}", length: 4096), "truncated")
        try assertRejected(SafeTensorsFixtures.craft("{}", length: 200_000_000), "limit")
        try assertRejected(SafeTensorsFixtures.craft("{}", length: UInt64.max), "limit")
    }

    func testHeaderNotJSONOrNotAnObject() throws {
        try assertRejected(SafeTensorsFixtures.craft("{not json at all}"), "not valid JSON")
        try assertRejected(SafeTensorsFixtures.craft("[1, 2, 3]"), "does not start with `{`")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a": 1} trailing"#), "not valid JSON")
        try assertRejected(SafeTensorsFixtures.craft("{\"a\u{0}\"}"), "not valid JSON")
        var invalidUTF8 = SafeTensorsFixtures.craft(#"{"ab":{}}"#)
        invalidUTF8[11] = 0xFF  // inside the key
        try assertRejected(invalidUTF8, "not valid JSON")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a": 5}"#), "not an object", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"__metadata__": {"k": 1}}"#), "not a string")
        try assertRejected(SafeTensorsFixtures.craft(#"{"__metadata__": [1]}"#), "__metadata__")
    }

    func testDeeplyNestedHeaderFailsCleanly() throws {
        let deep = "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        XCTAssertThrowsError(try parse(SafeTensorsFixtures.craft(deep)))
    }

    func testMissingOrWrongFields() throws {
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, data: f32Pair), "dtype", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, data: f32Pair), "shape", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: f32Pair), "data_offsets", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: f32Pair), "data_offsets", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: f32Pair), "data_offsets", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}"#, data: f32Pair), "data_offsets", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: f32Pair), "non-negative", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: f32Pair), "non-negative", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}"#, data: f32Pair), "non-negative", key: "a")
    }

    func testUnknownDtype() throws {
        XCTAssertThrowsError(try parse(SafeTensorsFixtures.craft(#"{"w":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,8]}}"#, data: f32Pair))) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.key, "w")
            XCTAssertTrue(e.message.contains("unknown dtype `Q4_K`"), e.message)
            XCTAssertTrue(e.hint?.contains("F32, F16, BF16") == true, e.hint ?? "")
        }
    }

    func testOffsetsOutsideTheData() throws {
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data: f32Pair), "outside the data section", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, data: f32Pair), "outside the data section", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[9223372036854775807,9223372036854775807]}}"#), "outside the data section", key: "a")
        // Offsets beyond Int range parse as non-integers and are refused too.
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}}"#, data: f32Pair), "data_offsets", key: "a")
    }

    func testOffsetsNotMatchingTheShape() throws {
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: f32Pair), "needs 12", key: "a")
        try assertRejected(SafeTensorsFixtures.craft(#"{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}"#, data: f32Pair), "needs 4", key: "a")
    }

    func testOverlappingTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try assertRejected(SafeTensorsFixtures.craft(header, data: f32Pair), "overlap")
        // Empty tensors at the same offset as others do not overlap anything.
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[4,4]}}"#
        XCTAssertEqual(try parse(SafeTensorsFixtures.craft(ok, data: f32Pair)).tensors.count, 2)
    }

    func testShapeProductOverflow() throws {
        let huge = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#
        try assertRejected(SafeTensorsFixtures.craft(huge, data: f32Pair), "overflow", key: "a")
        let bytesOverflow = #"{"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}}"#
        try assertRejected(SafeTensorsFixtures.craft(bytesOverflow, data: f32Pair), "overflow", key: "a")
        // A leading zero dimension keeps the product at 0 (as the reference's checked product does): valid, and empty.
        let zero = #"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#
        XCTAssertEqual(try parse(SafeTensorsFixtures.craft(zero)).tensors["a"]?.elementCount, 0)
    }

    func testTruncatedFile() throws {
        let good = try SafeTensorsFixtures.bytes("mixed_dtypes.safetensors")
        XCTAssertNoThrow(try parse(good))
        try assertRejected(Array(good.dropLast(1)), "truncated")
        try assertRejected(Array(good.prefix(100)), "truncated")
        try assertRejected(Array(good.prefix(7)), "too short")
    }

    func testGapsAndTrailingBytesAreTolerated() throws {
        // Never read, so harmless; the reference writer produces neither, other writers may pad.
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        let parsed = try parse(SafeTensorsFixtures.craft(header, data: f32Pair + [1, 2, 3]))
        XCTAssertEqual(parsed.tensors["a"]?.dataOffsets, 4..<8)
        XCTAssertEqual(parsed.dataSize, 11)
    }
}
