import Foundation
import XCTest
@testable import Tensors

final class SafeTensorsWriterTests: XCTestCase {
    /// Our writer reproduces the reference implementation's bytes exactly (F32, no metadata).
    func testByteIdenticalToReferenceF32() throws {
        let reference = try SafeTensorsFixtures.bytes("reference_f32.safetensors")
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("reference_f32.safetensors"))
        let tensors = try Dictionary(uniqueKeysWithValues: file.names.map { ($0, try file.tensor($0)) })
        XCTAssertEqual(try SafeTensorsWriter.serialize(tensors), reference)
    }

    /// F16 with metadata: numpy's astype(float16) (round to nearest even) and the reference header, byte for byte.
    func testByteIdenticalToReferenceF16WithRounding() throws {
        let source = try SafeTensorsFile(url: SafeTensorsFixtures.url("rounding_source.safetensors")).tensor("values")
        let reference = try SafeTensorsFixtures.bytes("rounding_f16.safetensors")
        let ours = try SafeTensorsWriter.serialize(["values": source], dtype: .f16, metadata: ["format": "pt"])
        XCTAssertEqual(ours.count, reference.count)
        XCTAssertEqual(ours, reference)
        // And the F32 source round-trips to its own bytes.
        XCTAssertEqual(try SafeTensorsWriter.serialize(["values": source]), try SafeTensorsFixtures.bytes("rounding_source.safetensors"))
    }

    func testHeaderLayoutSortingAndPadding() throws {
        let bytes = try SafeTensorsWriter.serialize(
            ["b": Tensor(shape: [2], scalars: [1, 2]), "a": Tensor(shape: [1, 1], scalars: [3]), "B": Tensor(zeros: [0])],
            metadata: ["z": "1", "a": "2"])
        let n = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        XCTAssertEqual(n % 8, 0, "header padded to a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        let expected = #"{"__metadata__":{"a":"2","z":"1"},"B":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"#
            + #""a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces), expected)
        XCTAssertEqual(header.count - expected.count, (8 - expected.utf8.count % 8) % 8)
        XCTAssertEqual(bytes.count, 8 + n + 12)
        // Deterministic: the same input gives the same bytes.
        XCTAssertEqual(bytes, try SafeTensorsWriter.serialize(
            ["a": Tensor(shape: [1, 1], scalars: [3]), "B": Tensor(zeros: [0]), "b": Tensor(shape: [2], scalars: [1, 2])],
            metadata: ["a": "2", "z": "1"]))
    }

    func testJSONEscapingOfNames() throws {
        XCTAssertEqual(SafeTensorsWriter.jsonString("a\"b\\c\n\t\u{1}/é"), #""a\"b\\c\n\t\u0001/é""#)
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("names.safetensors")
        let odd = "weird \"name\"\\\n\u{1}é.weight"
        try SafeTensorsWriter.write([odd: Tensor(shape: [1], scalars: [5])], to: url, metadata: ["k\"": "v\n"])
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.names, [odd])
        XCTAssertEqual(try file.tensor(odd).scalars, [5])
        XCTAssertEqual(file.metadata, ["k\"": "v\n"])
    }

    func testRoundTripAllDtypes() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let values: [Float] = [0, -0.0, 1, -2.5, 0.1, 1.0 / 3, 1e-7, 65504, 70000, -1e-30, .infinity, -.infinity]
        let tensors = [
            "x": Tensor(shape: [3, 4], scalars: values),
            "scalar": Tensor(shape: [], scalars: [42]),
            "empty": Tensor(zeros: [2, 0]),
        ]
        for dtype in SafeTensorsDType.floatingPointSupported {
            let url = dir.appendingPathComponent("t-\(dtype.rawValue).safetensors")
            try SafeTensorsWriter.write(tensors, to: url, dtype: dtype, metadata: ["dtype": dtype.rawValue])
            let file = try SafeTensorsFile(url: url)
            XCTAssertEqual(file.names, ["empty", "scalar", "x"])
            XCTAssertEqual(file.metadata, ["dtype": dtype.rawValue])
            XCTAssertEqual(file.info("x")?.dtype, dtype)
            let x = try file.tensor("x")
            XCTAssertEqual(x.shape, [3, 4])
            let expected: [Float]
            switch dtype {
            case .f16: expected = values.map { Float16Conversion.float(fromHalfBits: Float16Conversion.halfBits(from: $0)) }
            case .bf16: expected = values.map { Float16Conversion.float(fromBFloat16Bits: Float16Conversion.bfloat16Bits(from: $0)) }
            default: expected = values
            }
            XCTAssertEqual(x.scalars.map(\.bitPattern), expected.map(\.bitPattern), dtype.rawValue)
            XCTAssertEqual(try file.tensor("scalar"), Tensor(shape: [], scalars: [42]))
            XCTAssertEqual(try file.tensor("empty").shape, [2, 0])
        }
        // Spot checks that the narrow types really rounded.
        let f16 = try SafeTensorsFile(url: dir.appendingPathComponent("t-F16.safetensors")).tensor("x").scalars
        XCTAssertEqual(f16[4], 0.0999755859375)
        XCTAssertEqual(f16[8], .infinity, "70000 overflows F16")
        XCTAssertEqual(f16[9].sign, .minus)
        let bf16 = try SafeTensorsFile(url: dir.appendingPathComponent("t-BF16.safetensors")).tensor("x").scalars
        XCTAssertEqual(bf16[4], 0.10009765625)
        XCTAssertEqual(bf16[8], 70144)
    }

    func testNaNRoundTrips() throws {
        for dtype in SafeTensorsDType.floatingPointSupported {
            let bytes = try SafeTensorsWriter.serialize(["n": Tensor(shape: [2], scalars: [.nan, -.nan])], dtype: dtype)
            let dir = try SafeTensorsFixtures.temporaryDirectory(self)
            let url = dir.appendingPathComponent("nan.safetensors")
            try Data(bytes).write(to: url)
            let read = try SafeTensorsFile(url: url).tensor("n").scalars
            XCTAssertTrue(read[0].isNaN && read[1].isNaN, dtype.rawValue)
            XCTAssertEqual(read[1].sign, .minus, dtype.rawValue)
        }
    }

    func testAtomicWriteReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let url = dir.appendingPathComponent("w.safetensors")
        try SafeTensorsWriter.write(["a": Tensor(shape: [1], scalars: [1])], to: url)
        try SafeTensorsWriter.write(["b": Tensor(shape: [2], scalars: [2, 3])], to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
        XCTAssertEqual(try SafeTensorsFile(url: url).names, ["b"])
        XCTAssertEqual([UInt8](try Data(contentsOf: url)), try SafeTensorsWriter.serialize(["b": Tensor(shape: [2], scalars: [2, 3])]))
    }

    func testWriteErrors() throws {
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let missingDir = dir.appendingPathComponent("no/such/dir/x.safetensors")
        XCTAssertThrowsError(try SafeTensorsWriter.write(["a": Tensor(zeros: [1])], to: missingDir)) { error in
            let e = error as! WeightError
            XCTAssertTrue(e.file.hasPrefix(missingDir.path), e.file)
            XCTAssertTrue(e.message.contains("create failed"), e.message)
        }
        XCTAssertThrowsError(try SafeTensorsWriter.serialize(["a": Tensor(zeros: [1])], dtype: .i64)) { error in
            XCTAssertTrue((error as! WeightError).message.contains("I64"))
        }
        XCTAssertThrowsError(try SafeTensorsWriter.serialize(["__metadata__": Tensor(zeros: [1])])) { error in
            XCTAssertEqual((error as! WeightError).key, "__metadata__")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
