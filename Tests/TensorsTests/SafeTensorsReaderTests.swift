import Foundation
import XCTest
import Support
@testable import Tensors

/// Tests/TensorsTests/Fixtures/safetensors (made by tools/make_safetensors_fixtures.py) and temporary files.
enum SafeTensorsFixtures {
    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/safetensors"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/safetensors")
    }

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url(name)))
    }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A file from a header (JSON text) and data bytes; `length` overrides the header length field.
    static func craft(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
        let h = Array(header.utf8)
        var n = (length ?? UInt64(h.count)).littleEndian
        return withUnsafeBytes(of: &n) { Array($0) } + h + data
    }
}

final class SafeTensorsReaderTests: XCTestCase {
    func testMixedDtypesFixture() throws {
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("mixed_dtypes.safetensors"))
        XCTAssertEqual(file.names, ["bf16", "empty", "f16", "f32", "position_ids", "scalar"])
        XCTAssertEqual(file.metadata, ["format": "pt", "producer": "tools/make_safetensors_fixtures.py"])

        let f32 = try file.tensor("f32")
        XCTAssertEqual(f32.shape, [2, 3])
        XCTAssertEqual(f32.scalars, [0, 1, -2.5, 3.140625, 1.0e-3, 0])
        XCTAssertEqual(f32.scalars[5].sign, .minus, "-0.0 keeps its sign")

        let f16 = try file.tensor("f16")
        XCTAssertEqual(f16.shape, [11])
        let expected: [Float] = [1, -2, 65504, 0x1p-24, 1023 * 0x1p-24, 0x1p-14, .infinity, -.infinity, 0]
        XCTAssertEqual(Array(f16.scalars[0..<9]), expected)
        XCTAssertEqual(f16.scalars[8].sign, .minus, "-0.0 keeps its sign")
        XCTAssertTrue(f16.scalars[9].isNaN)
        XCTAssertEqual(f16.scalars[10], 0.333251953125)

        let bf16 = try file.tensor("bf16")
        XCTAssertEqual(bf16.shape, [2, 2])
        XCTAssertEqual(bf16.scalars, [1, -2.5, .infinity, Float(bitPattern: 0x0001_0000)])

        XCTAssertEqual(try file.tensor("scalar"), Tensor(shape: [], scalars: [7.5]))
        XCTAssertEqual(try file.tensor("empty"), Tensor(zeros: [0, 3]))

        let info = try XCTUnwrap(file.info("position_ids"))
        XCTAssertEqual(info.dtype, .i64)
        XCTAssertEqual(info.shape, [1, 4])
        XCTAssertEqual(info.byteCount, 32)
        XCTAssertNil(file.info("nope"))
        // Raw bytes are available for dtypes that do not convert.
        let ids = try file.withRawBytes(of: "position_ids") { raw in (0..<4).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) } }
        XCTAssertEqual(ids, [0, 1, 2, 3])
    }

    func testUnsupportedDtypeNamesTensorDtypeAndSupportedList() throws {
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("mixed_dtypes.safetensors"))
        XCTAssertThrowsError(try file.tensor("position_ids")) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.key, "position_ids")
            XCTAssertTrue(e.file.hasSuffix("mixed_dtypes.safetensors"))
            XCTAssertTrue(e.message.contains("I64"), e.message)
            XCTAssertTrue(e.message.contains("F32, F16, BF16"), e.message)
        }
    }

    func testMissingTensorAndMissingFile() throws {
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("mixed_dtypes.safetensors"))
        XCTAssertThrowsError(try file.tensor("f64")) { error in
            XCTAssertEqual((error as! WeightError).key, "f64")
        }
        let missing = SafeTensorsFixtures.url("does_not_exist.safetensors")
        XCTAssertThrowsError(try SafeTensorsFile(url: missing)) { error in
            let e = error as! WeightError
            XCTAssertEqual(e.file, missing.path)
            XCTAssertTrue(e.message.contains("cannot open"), e.message)
        }
        XCTAssertThrowsError(try SafeTensorsFile(url: SafeTensorsFixtures.directory)) { error in
            XCTAssertTrue((error as! WeightError).message.contains("not a regular file"))
        }
    }

    /// Files written by the reference implementation (Python safetensors) read back as written.
    func testReferenceWrittenFiles() throws {
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("reference_f32.safetensors"))
        XCTAssertEqual(file.names, ["conv.bias", "conv.weight", "norm.weight"])
        XCTAssertEqual(file.metadata, [:])
        XCTAssertEqual(try file.tensor("conv.weight"), Tensor(shape: [2, 3, 1, 1], scalars: [-1, -0.5, 0, 0.5, 1, 1.5]))
        XCTAssertEqual(try file.tensor("conv.bias").scalars, [0.25, -1])

        // numpy's astype(float16) of the source values, read back, equals our own rounding of them.
        let source = try SafeTensorsFile(url: SafeTensorsFixtures.url("rounding_source.safetensors")).tensor("values")
        let half = try SafeTensorsFile(url: SafeTensorsFixtures.url("rounding_f16.safetensors"))
        XCTAssertEqual(half.info("values")?.dtype, .f16)
        XCTAssertEqual(half.metadata, ["format": "pt"])
        let read = try half.tensor("values")
        XCTAssertEqual(read.shape, source.shape)
        XCTAssertGreaterThan(read.count, 50)
        for (s, r) in zip(source.scalars, read.scalars) {
            let expected = Float16Conversion.float(fromHalfBits: Float16Conversion.halfBits(from: s))
            if s.isNaN { XCTAssertTrue(r.isNaN) } else { XCTAssertEqual(r.bitPattern, expected.bitPattern, "\(s)") }
        }
    }

    func testConcurrentReadsOfOneFile() throws {
        let file = try SafeTensorsFile(url: SafeTensorsFixtures.url("mixed_dtypes.safetensors"))
        let expected = try file.tensor("f32")
        let results = UnsafeMutableBufferPointer<Bool>.allocate(capacity: 64)
        defer { results.deallocate() }
        let slots = DisjointSlots(results)
        DispatchQueue.concurrentPerform(iterations: 64) { i in
            slots[i] = (try? file.tensor("f32")) == expected
        }
        XCTAssertTrue(results.allSatisfy { $0 })
    }

    func testLargeTensorLoadsExactly() throws {
        // 300k elements crosses the writer's chunk size and exercises the F16 bulk path.
        let dir = try SafeTensorsFixtures.temporaryDirectory(self)
        let values = (0..<300_000).map { Float(($0 % 2048) - 1024) }  // all exactly representable in F16
        let url = dir.appendingPathComponent("big.safetensors")
        try SafeTensorsWriter.write(["w": Tensor(shape: [300, 1000], scalars: values)], to: url, dtype: .f16)
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.fileSize, file.header.dataStart + 600_000)
        XCTAssertEqual(try file.tensor("w").scalars, values)
    }
}
