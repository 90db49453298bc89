import Foundation
import XCTest
import Support
import Datasets
@testable import Pipeline

/// The scanner-based checkpoint reader gives `JSONDecoder`'s result on what `Checkpoints.save` writes, and
/// declines (so `JSONDecoder` answers) anything else.
final class CheckpointDecoderTests: XCTestCase {
    let runRoot = "/runs/demo"

    /// Every field and optional of the checkpoint types, with text that needs escapes.
    func sampleRecord() -> UnitRecord {
        let box = BoundingBox(x: 0.1, y: 12, width: 1e-7, height: 123456.789)
        var plain = Annotation(id: 1, imageId: 7, categoryId: 3, bbox: box)
        plain.area = 1.0 / 3.0
        let full = Annotation(id: -2, imageId: 7, categoryId: 18, bbox: BoundingBox(x: -0.0, y: 5e-324, width: 1.7976931348623157e308, height: 640),
                              area: 2.5, isCrowd: true, segmentation: RawJSON("[[1,2,3,4]]"), difficult: true, truncated: false,
                              score: 0.8125, attribute: "hard")
        let reference = DatasetItem(image: ImageInfo(id: 7, fileName: "a b/ü \"q\".jpg", width: 640, height: 480),
                                    sourcePath: "/data/coco/a.jpg", annotations: [plain], captions: ["a cat\non a \\ mat\t", "🐈 ✓"])
        let provenance = Provenance(referenceImageId: 7, variant: 2, seed: UInt64.max, encodeRatio: 0.35, guidance: 7.5,
                                    scheduler: "dpm-solver++", steps: 25, tapTimestep: 261, prompt: "a photo of \u{1}x")
        var generated = DatasetItem(image: ImageInfo(id: 1_000_007_002, fileName: "g.jpg", width: 128, height: 128, provenance: provenance),
                                    sourcePath: runRoot + "/work/generate/g.jpg", annotations: [full, plain], captions: [],
                                    referenceAnnotations: [plain, full])
        generated.reference = ReferenceSnapshot(reference)
        generated.plannedVariant = 3
        let minimal = Provenance(referenceImageId: 1, variant: 0, seed: 0)
        let other = DatasetItem(image: ImageInfo(id: 9, fileName: "z.jpg", width: 1, height: 1, provenance: minimal),
                                sourcePath: runRoot + "/output/z.jpg", annotations: [])
        let output = UnitOutput(items: [reference, generated, other],
                                dropped: [DroppedItem(imageId: 3, fileName: "x.jpg", reason: "small-objects"),
                                          DroppedItem(imageId: 4, fileName: "y.jpg", reason: "corrupt-image", message: "bad \"marker\"")],
                                counters: ["boxes-dropped": 3, "images-written": 0, "neg": -5],
                                issues: [LoadIssue(kind: .renamedImage, file: "/f", record: "image 3", message: "renamed")])
        return UnitRecord(outputs: ["generate": UnitOutput(), "label": output])
    }

    func encoded<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[.runRoot] = runRoot
        return [UInt8](try encoder.encode(value))
    }

    func referenceDecode<T: Decodable>(_ type: T.Type, _ json: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.userInfo[.runRoot] = runRoot
        return try decoder.decode(type, from: Data(json))
    }

    func assertEqual(_ a: UnitOutput, _ b: UnitOutput, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.items, b.items, file: file, line: line)
        XCTAssertEqual(a.dropped, b.dropped, file: file, line: line)
        XCTAssertEqual(a.counters, b.counters, file: file, line: line)
        XCTAssertEqual(a.issues, b.issues, file: file, line: line)
        // Bit patterns, not ==: -0.0 and the extremes must survive.
        let bits = { (o: UnitOutput) in o.items.flatMap { $0.annotations.flatMap { [$0.bbox.x, $0.bbox.y, $0.bbox.width, $0.bbox.height, $0.area].map(\.bitPattern) } } }
        XCTAssertEqual(bits(a), bits(b), file: file, line: line)
    }

    func testEqualsJSONDecoderOnWhatCheckpointsWrite() throws {
        let json = try encoded(sampleRecord())
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"sourcePath\":\"work/generate/g.jpg\""), "stored relative to the run")
        let expected = try referenceDecode(UnitRecord.self, json)
        let fast = try XCTUnwrap(CheckpointDecoder.unitRecord(json, runRoot: runRoot))
        XCTAssertEqual(Set(fast.outputs.keys), Set(expected.outputs.keys))
        for (stage, output) in expected.outputs { assertEqual(try XCTUnwrap(fast.outputs[stage]), output) }
        XCTAssertEqual(fast.outputs["label"]?.items[1].sourcePath, runRoot + "/work/generate/g.jpg")

        let unit = try XCTUnwrap(expected.outputs["label"])
        let unitJSON = try encoded(unit)
        assertEqual(try XCTUnwrap(CheckpointDecoder.unitOutput(unitJSON, runRoot: runRoot)), try referenceDecode(UnitOutput.self, unitJSON))
    }

    func testRandomItemsEqualJSONDecoder() throws {
        var rng = SystemRandomNumberGenerator()
        var items: [DatasetItem] = []
        for id in 0..<300 {
            let annotations = (0..<Int.random(in: 0...5, using: &rng)).map { k in
                Annotation(id: id * 10 + k, imageId: id, categoryId: Int.random(in: 1...90, using: &rng),
                           bbox: BoundingBox(x: Double.random(in: -10...700, using: &rng), y: Double.random(in: 0...1, using: &rng),
                                             width: Double(Float.random(in: 0...300, using: &rng)), height: Double.random(in: 0...1e-3, using: &rng)),
                           score: Bool.random(using: &rng) ? Double.random(in: 0...1, using: &rng) : nil)
            }
            items.append(DatasetItem(image: ImageInfo(id: id, fileName: "\(id).jpg", width: 640, height: 427), sourcePath: "/d/\(id).jpg",
                                     annotations: annotations))
        }
        let json = try encoded(UnitOutput(items: items))
        assertEqual(try XCTUnwrap(CheckpointDecoder.unitOutput(json, runRoot: runRoot)), try referenceDecode(UnitOutput.self, json))
    }

    func testDeclinesWhatCheckpointsDoNotWrite() throws {
        let item = #"{"annotations":[],"captions":[],"image":{"fileName":"a.jpg","height":2,"id":1,"width":2},"sourcePath":"/a.jpg"}"#
        func unit(_ items: String) -> [UInt8] { Array(#"{"counters":{},"dropped":[],"issues":[],"items":[\#(items)]}"#.utf8) }
        XCTAssertNotNil(CheckpointDecoder.unitOutput(unit(item), runRoot: nil), "the plain form is read")
        let declined = [
            unit(item.replacingOccurrences(of: #""id":1"#, with: #""id":1.0"#)),                 // an integer written as a decimal
            unit(item.replacingOccurrences(of: #""captions":[]"#, with: #""captions":[],"extra":1"#)),  // an unknown key
            unit(item.replacingOccurrences(of: #""captions":[]"#, with: #""captions":["\ud800"]"#)),    // a lone surrogate
            unit(item.replacingOccurrences(of: #""sourcePath":"/a.jpg""#, with: "")),                 // a missing field
            Array(#"{"counters":{},"dropped":[],"items":[]}"#.utf8),                                  // a missing list
            unit(item) + Array(" x".utf8),                                                              // trailing text
            unit(item.replacingOccurrences(of: "]", with: "")),                                         // broken JSON
        ]
        for json in declined {
            XCTAssertNil(CheckpointDecoder.unitOutput(json, runRoot: nil), String(decoding: json, as: UTF8.self))
        }
        // JSONDecoder still answers for what the fast reader declines: the integral 1.0 is an Int to it.
        XCTAssertEqual(try referenceDecode(UnitOutput.self, declined[0]).items.first?.image.id, 1)
    }

    func testCheckpointsLoadFallsBackToJSONDecoder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("checkpoint-decoder-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoints = Checkpoints(root: dir, runRoot: runRoot)
        try checkpoints.save(sampleRecord(), stage: "label", unit: "batch-00000")
        let loaded = try checkpoints.load(UnitRecord.self, stage: "label", unit: "batch-00000")
        assertEqual(try XCTUnwrap(loaded.outputs["label"]), try XCTUnwrap(sampleRecord().outputs["label"]))
        // A checkpoint in a form the fast reader declines (an extra key) still loads, through JSONDecoder.
        let text = #"{"outputs":{"s":{"counters":{},"dropped":[],"future":true,"issues":[],"items":[]}}}"#
        try AtomicFile.write(try Zstd.compress(Array(text.utf8)), to: checkpoints.file(stage: "s", unit: "batch-00000"))
        XCTAssertNil(CheckpointDecoder.unitRecord(Array(text.utf8), runRoot: runRoot))
        XCTAssertEqual(try checkpoints.load(UnitRecord.self, stage: "s", unit: "batch-00000").outputs["s"]?.items.count, 0)
    }
}
