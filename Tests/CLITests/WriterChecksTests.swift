import Foundation
import XCTest

/// Issue 19 item 2: what a writer would refuse is refused by `validate` and at the start of `run`, before any
/// unit runs; a file name VOC cannot hold is written under the image id instead of failing the run's last step.
final class WriterChecksTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("writer-checks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp.appendingPathComponent("images/a"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: temp.appendingPathComponent("images/b"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    /// A two-image COCO source (demo images under the given names) and a pipeline writing it as `format`.
    func pipeline(names: [String], format: String) throws -> String {
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo/coco/train")
        var images: [String] = [], annotations: [String] = []
        for (k, name) in names.enumerated() {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(String(format: "%012d.jpg", k + 1)),
                                             to: temp.appendingPathComponent("images").appendingPathComponent(name))
            images.append(#"{"id": \#(k + 41), "file_name": "\#(name)", "width": 128, "height": 128}"#)
            annotations.append(#"{"id": \#(k + 1), "image_id": \#(k + 41), "category_id": 3, "bbox": [10, 10, 40, 30], "iscrowd": 0}"#)
        }
        let json = #"{"images": [\#(images.joined(separator: ", "))], "annotations": [\#(annotations.joined(separator: ", "))], "categories": [{"id": 3, "name": "square"}]}"#
        try json.write(to: temp.appendingPathComponent("instances.json"), atomically: true, encoding: .utf8)
        let file = temp.appendingPathComponent("p-\(format).yaml")
        try """
            source:
              format: coco
              instances: instances.json
              images: images
            stages:
              - id: out
                kind: write
                format: \(format)
            """.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    func testANameVOCCannotHoldIsWrittenUnderTheImageId() throws {
        let file = try pipeline(names: ["my photo ü.jpg", "000000000002.jpg"], format: "voc")
        let validate = try CLIHarness.run(["validate", file])
        XCTAssertEqual(validate.status, 0, validate.stderr)
        XCTAssertTrue(validate.stdout.contains("my photo ü.jpg as 41.jpg"), validate.stdout)
        let dir = temp.appendingPathComponent("run")
        let run = try CLIHarness.run(["run", file, "--run-dir", dir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let year = dir.appendingPathComponent("output/out/VOCdevkit/VOC2007")
        XCTAssertEqual(try String(contentsOf: year.appendingPathComponent("ImageSets/Main/trainval.txt"), encoding: .utf8), "41\n000000000002\n")
        for path in ["JPEGImages/41.jpg", "Annotations/41.xml", "JPEGImages/000000000002.jpg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: year.appendingPathComponent(path).path), path)
        }
        XCTAssertTrue(try String(contentsOf: year.appendingPathComponent("Annotations/41.xml"), encoding: .utf8).contains("<filename>41.jpg</filename>"))
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("output/out/renamed_images.json"), encoding: .utf8),
                       "[\n{\"image_id\": 41, \"file_name\": \"my photo ü.jpg\", \"written_as\": \"41.jpg\"}\n]\n")
        let report = try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("images-renamed"), report)
    }

    /// Issue 19 item 16 end to end: `format: yolo` (spaces kept, a hidden name written under its id).
    func testYOLOOutputEndToEnd() throws {
        let file = try pipeline(names: ["my photo ü.jpg", ".hidden.jpg"], format: "yolo")
        let dir = temp.appendingPathComponent("run")
        let run = try CLIHarness.run(["run", file, "--run-dir", dir.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        let out = dir.appendingPathComponent("output/out")
        for path in ["images/my photo ü.jpg", "labels/my photo ü.txt", "images/42.jpg", "labels/42.txt", "data.yaml", "stats.md", "renamed_images.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(path).path), path)
        }
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("labels/42.txt"), encoding: .utf8), "0 0.234375 0.195312 0.312500 0.234375\n")
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("data.yaml"), encoding: .utf8).hasSuffix("names:\n  0: \"square\"\n"))
    }

    func testTwoImagesUnderOneOutputNameAreRefusedBeforeAnyUnitRuns() throws {
        for format in ["coco", "voc", "yolo"] {
            let file = try pipeline(names: ["a/x.jpg", "b/x.jpg"], format: format)
            let validate = try CLIHarness.run(["validate", file])
            XCTAssertEqual(validate.status, 1, format + validate.stdout + validate.stderr)
            XCTAssertTrue(validate.stderr.contains("image 41 (a/x.jpg) and image 42 (b/x.jpg) would both be written as x.jpg"), validate.stderr)
            XCTAssertTrue(validate.stderr.contains("hint: rename one of the two image files"), validate.stderr)
            let dir = temp.appendingPathComponent("run-\(format)")
            let run = try CLIHarness.run(["run", file, "--run-dir", dir.path])
            XCTAssertEqual(run.status, 1, run.stderr)
            XCTAssertTrue(run.stderr.contains("would both be written as x.jpg"), run.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints/load/summary.json.zst").path), "nothing committed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("output/out/images").path), "no unit ran")
            for name in ["a/x.jpg", "b/x.jpg"] { try FileManager.default.removeItem(at: temp.appendingPathComponent("images/" + name)) }
        }
    }

    func testAVOCFolderThatIsNotAPlainNameIsAConfigError() throws {
        let file = try pipeline(names: ["000000000001.jpg"], format: "voc")
        try (try String(contentsOfFile: file, encoding: .utf8) + "\n    voc_folder: ../elsewhere\n").write(toFile: file, atomically: true, encoding: .utf8)
        let validate = try CLIHarness.run(["validate", file])
        XCTAssertEqual(validate.status, 2, validate.stderr)
        XCTAssertTrue(validate.stderr.contains("voc_folder") && validate.stderr.contains("plain name"), validate.stderr)
    }
}
