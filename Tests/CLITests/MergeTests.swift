import Foundation
import XCTest

/// `dataengine merge`: the finished shards of a run root, merged, are byte for byte the unsharded run's output;
/// a missing, unfinished or different shard is refused by name; a merge run again gives the same bytes.
final class MergeTests: XCTestCase {
    var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    /// The demo pipeline (attributes, generation with the demo model, labels, COCO and VOC writers), limited.
    func demoPipeline(limit: Int, batchSize: Int, minObjectArea: String = "0.02") throws -> URL {
        let root = CLIHarness.repositoryRoot.path
        var text = try String(contentsOfFile: root + "/pipelines/demo.yaml", encoding: .utf8)
        text = text.replacingOccurrences(of: "../", with: root + "/")
            .replacingOccurrences(of: "batch_size: 8", with: "batch_size: \(batchSize)")
            .replacingOccurrences(of: "min_object_area: 0.02", with: "min_object_area: \(minObjectArea)")
            .replacingOccurrences(of: "  images: \(root)/data/demo/coco/train\n", with: "  images: \(root)/data/demo/coco/train\n  limit: \(limit)\n")
        XCTAssertTrue(text.contains("limit: \(limit)"))
        let file = temp.appendingPathComponent("demo-\(limit)-\(batchSize)-\(minObjectArea).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func runShards(_ pipeline: URL, root: URL, count: Int, only: [Int]? = nil) throws {
        for index in only ?? Array(0..<count) {
            let result = try CLIHarness.run(["run", pipeline.path, "--shard", "\(index)/\(count)", "--run-root", root.path, "--workers", "1"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
    }

    /// Runs `pipeline` on one machine and as 3 shards into `root`, merges them into `out`, and checks that the
    /// merge is the unsharded run's output byte for byte.
    func mergeOfThreeShards(_ pipeline: URL, root: URL, out: URL) throws -> (merge: CLIHarness.Result, expected: [String: Data], merged: [String: Data]) {
        let whole = temp.appendingPathComponent("whole")
        XCTAssertEqual(try CLIHarness.run(["run", pipeline.path, "--run-dir", whole.path]).status, 0)
        let expected = CLIHarness.files(under: whole.appendingPathComponent("output"))
        try runShards(pipeline, root: root, count: 3)
        let merge = try CLIHarness.run(["merge", root.path, "--out", out.path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let merged = CLIHarness.files(under: out)
        XCTAssertEqual(Set(merged.keys), Set(expected.keys))
        for (name, bytes) in expected { XCTAssertEqual(merged[name], bytes, "\(name) differs from the unsharded run's") }
        return (merge, expected, merged)
    }

    func testMergedShardsAreTheUnshardedRunByteForByte() throws {
        let root = temp.appendingPathComponent("root")
        let out = temp.appendingPathComponent("merged")
        let (merge, expected, merged) = try mergeOfThreeShards(try demoPipeline(limit: 11, batchSize: 2), root: root, out: out)
        XCTAssertGreaterThan(expected.keys.filter { $0.hasSuffix(".jpg") }.count, 10)
        XCTAssertTrue(merge.stdout.contains("merged 3 shards (11 source images)"), merge.stdout)
        // Both write stages (COCO and VOC) are spliced from the shards' files.
        XCTAssertTrue(merge.stdout.contains("splicing (demo_de)") && merge.stdout.contains("splicing (demo_voc_de)"), merge.stdout)
        XCTAssertTrue(merged.keys.contains("demo_de/annotations/captions_demo_de.json") && merged.keys.contains("demo_de/preview.jpg"))

        // Shards without splice parts (run by an older dataengine) are placed unit by unit: the same bytes.
        let placedRoot = temp.appendingPathComponent("placed-root")
        try FileManager.default.copyItem(at: root, to: placedRoot)
        for shard in 0..<3 {
            try FileManager.default.removeItem(at: placedRoot.appendingPathComponent("shard-0000\(shard)-of-00003/splice"))
        }
        let placedOut = temp.appendingPathComponent("placed")
        let placed = try CLIHarness.run(["merge", placedRoot.path, "--out", placedOut.path])
        XCTAssertEqual(placed.status, 0, placed.stderr)
        XCTAssertFalse(placed.stdout.contains("splicing"), placed.stdout)
        XCTAssertEqual(CLIHarness.files(under: placedOut), merged)

        // A damaged splice part is not trusted: that write stage is placed unit by unit, with the same bytes.
        let damagedRoot = temp.appendingPathComponent("damaged-root")
        try FileManager.default.copyItem(at: root, to: damagedRoot)
        let part = damagedRoot.appendingPathComponent("shard-00001-of-00003/splice/demo_de/write.bin")
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: part.path))
        try bytes.prefix(bytes.count / 2).write(to: part)
        let damagedOut = temp.appendingPathComponent("damaged")
        let damaged = try CLIHarness.run(["merge", damagedRoot.path, "--out", damagedOut.path])
        XCTAssertEqual(damaged.status, 0, damaged.stderr)
        XCTAssertTrue(damaged.stdout.contains("placing") && !damaged.stdout.contains("splicing (demo_de)"), damaged.stdout)
        XCTAssertEqual(CLIHarness.files(under: damagedOut), merged)

        // Images are hard links to the shards' files, not copies.
        let image = try XCTUnwrap(merged.keys.first { $0.hasPrefix("demo_de/images/") && $0.hasSuffix(".jpg") })
        let links = try FileManager.default.attributesOfItem(atPath: out.appendingPathComponent(image).path)[.referenceCount] as? Int
        XCTAssertEqual(links, 2)

        // A merge killed half-way left its staging folder: merging again replaces both, with the same bytes.
        let staging = URL(fileURLWithPath: out.path + ".merging")
        try FileManager.default.createDirectory(at: staging.appendingPathComponent("demo_de/images"), withIntermediateDirectories: true)
        try Data("half".utf8).write(to: staging.appendingPathComponent("demo_de/images/stray.jpg"))
        XCTAssertEqual(try CLIHarness.run(["merge", root.path, "--out", out.path]).status, 0)
        XCTAssertEqual(CLIHarness.files(under: out), merged)
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging.path))

        // A folder this run root's merge did not write is never replaced.
        let foreign = temp.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        let refused = try CLIHarness.run(["merge", root.path, "--out", foreign.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("already exists and was not written by a merge"), refused.stderr)
    }

    func testMergeNamesMissingUnfinishedAndDifferentShards() throws {
        let pipeline = try demoPipeline(limit: 6, batchSize: 2)
        let root = temp.appendingPathComponent("root")
        try runShards(pipeline, root: root, count: 4, only: [0, 2, 3])
        let out = temp.appendingPathComponent("merged").path
        var result = try CLIHarness.run(["merge", root.path, "--out", out])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("shard 1/4 is missing"), result.stderr)

        try runShards(pipeline, root: root, count: 4, only: [1])
        // Shard 2 unfinished: its last unit and report gone, as if killed before its end.
        let shard2 = root.appendingPathComponent("shard-00002-of-00004")
        try FileManager.default.removeItem(at: shard2.appendingPathComponent("report.json"))
        try FileManager.default.removeItem(at: shard2.appendingPathComponent("checkpoints/demo_de/final.json.zst"))
        // Shard 3 from another pipeline (another filter), run into its folder by hand.
        let shard3 = root.appendingPathComponent("shard-00003-of-00004")
        try FileManager.default.removeItem(at: shard3)
        let other = try demoPipeline(limit: 6, batchSize: 2, minObjectArea: "0.05")
        XCTAssertEqual(try CLIHarness.run(["run", other.path, "--shard", "3/4", "--run-dir", shard3.path]).status, 0)

        result = try CLIHarness.run(["merge", root.path, "--out", out])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("shard 2/4 is unfinished"), result.stderr)
        XCTAssertTrue(result.stderr.contains("shard 3/4 differs: it ran another pipeline"), result.stderr)
        XCTAssertFalse(result.stderr.contains("shard 0/4"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        let status = try CLIHarness.run(["status", root.path])
        XCTAssertEqual(status.status, 3, status.stderr)
        XCTAssertTrue(status.stdout.contains("4 shards: 2 finished"), status.stdout)
        XCTAssertTrue(status.stdout.contains("shard-00003-of-00004  different"), status.stdout)

        // Resuming shard 2 finishes it; with shard 3 run again, the merge goes through.
        XCTAssertEqual(try CLIHarness.run(["resume", shard2.path]).status, 0)
        try FileManager.default.removeItem(at: shard3)
        try runShards(pipeline, root: root, count: 4, only: [3])
        result = try CLIHarness.run(["merge", root.path, "--out", out])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(try CLIHarness.run(["status", root.path]).status, 0)
    }

    /// Quota rounds across shards: the shards stop at the quota stage, each merge plans the next round from all of
    /// them (exit 3), the shards run again, and the final merge is the unsharded run's output.
    func testQuotaRoundsAcrossShardsMergeToTheUnshardedRun() throws {
        let root = CLIHarness.repositoryRoot.path
        var text = try String(contentsOfFile: try demoPipeline(limit: 12, batchSize: 3).path, encoding: .utf8)
        text = text.replacingOccurrences(of: "    variants: 2\n", with: "    variants: 1\n")
            .replacingOccurrences(of: "    threshold: adapter ", with: "    threshold: 0.3 ")
            .replacingOccurrences(of: "  - id: demo_de\n", with: """
                  - id: quota
                    kind: quota
                    min_instances_per_category: 20
                    max_variants_per_image: 4
                  - id: demo_de

                """)
            .replacingOccurrences(of: "    input: confidence\n", with: "    input: quota\n")
        XCTAssertTrue(text.contains("kind: quota") && text.contains("input: quota") && text.contains("threshold: 0.3") && text.contains(root))
        let pipeline = temp.appendingPathComponent("quota.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        let whole = temp.appendingPathComponent("whole")
        XCTAssertEqual(try CLIHarness.run(["run", pipeline.path, "--run-dir", whole.path]).status, 0)

        let runRoot = temp.appendingPathComponent("root")
        let out = temp.appendingPathComponent("merged")
        var planned = 0
        var merge = CLIHarness.Result(status: -1, stdout: "", stderr: "")
        for pass in 0..<8 {
            try runShards(pipeline, root: runRoot, count: 3)
            if pass == 0 {
                let status = try CLIHarness.run(["status", runRoot.path])
                XCTAssertEqual(status.status, 3, status.stderr)
                XCTAssertTrue(status.stdout.contains("3 waiting for a round plan"), status.stdout)
                XCTAssertTrue(status.stdout.contains("every shard is done up to round 1 of `quota`"), status.stdout)
            }
            merge = try CLIHarness.run(["merge", runRoot.path, "--out", out.path])
            if merge.status != 3 { break }
            XCTAssertTrue(merge.stderr.contains("of stage `quota` is planned"), merge.stderr)
            planned += 1
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "planning a round writes no output")
        }
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertGreaterThanOrEqual(planned, 2, "at least one round with items and the empty one that ends them")
        let expected = CLIHarness.files(under: whole.appendingPathComponent("output"))
        let merged = CLIHarness.files(under: out)
        XCTAssertEqual(Set(merged.keys), Set(expected.keys))
        for (name, bytes) in expected { XCTAssertEqual(merged[name], bytes, "\(name) differs from the unsharded run's") }

        // The lower bound holds in the merged output: every category has at least 20 boxes.
        let instances = try XCTUnwrap(JSONSerialization.jsonObject(with: XCTUnwrap(merged["demo_de/annotations/instances_demo_de.json"])) as? [String: Any])
        let counts = (instances["annotations"] as? [[String: Any]] ?? []).reduce(into: [Int: Int]()) { $0[$1["category_id"] as? Int ?? -1, default: 0] += 1 }
        XCTAssertEqual(counts.count, 5)
        for (category, count) in counts { XCTAssertGreaterThanOrEqual(count, 20, "category \(category)") }
    }

    /// Write stages with `include_references` (the references written beside the generated images) are spliced
    /// too, COCO and YOLO: generated images in the unsharded order, then every shard's references by id.
    func testReferencesBesideTheGeneratedImagesAreSplicedToo() throws {
        var text = try String(contentsOfFile: try demoPipeline(limit: 9, batchSize: 2).path, encoding: .utf8)
        text = text.replacingOccurrences(of: "  - id: demo_de\n    kind: write\n    format: coco\n",
                                         with: "  - id: demo_de\n    kind: write\n    format: coco\n    include_references: true\n")
            .replacingOccurrences(of: "    input: confidence\n    format: voc\n", with: "    input: confidence\n    format: yolo\n    include_references: true\n")
        XCTAssertEqual(text.components(separatedBy: "include_references: true").count, 3)
        let pipeline = temp.appendingPathComponent("references.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        let (merge, expected, _) = try mergeOfThreeShards(pipeline, root: temp.appendingPathComponent("root"), out: temp.appendingPathComponent("merged"))
        XCTAssertGreaterThan(expected.keys.filter { $0.hasPrefix("demo_de/images/references/") }.count, 3)
        XCTAssertGreaterThan(expected.keys.filter { $0.hasPrefix("demo_voc_de/labels/references/") }.count, 3)
        XCTAssertTrue(merge.stdout.contains("splicing (demo_de)") && merge.stdout.contains("splicing (demo_voc_de)"), merge.stdout)
    }

    /// Shards that hold nothing (every image file missing) merge to a clear error, never a trap.
    func testShardsWithNothingMergeToAnErrorNotATrap() throws {
        let images = temp.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let instances = temp.appendingPathComponent("instances.json")
        try #"{"images": [{"id": 1, "file_name": "gone1.jpg", "width": 8, "height": 8}, {"id": 2, "file_name": "gone2.jpg", "width": 8, "height": 8}], "annotations": [], "categories": [{"id": 1, "name": "a"}]}"#
            .write(to: instances, atomically: true, encoding: .utf8)
        let pipeline = temp.appendingPathComponent("empty.yaml")
        try """
            source:
              format: coco
              instances: \(instances.path)
              images: \(images.path)
            stages:
              - id: coco
                kind: write
            """.write(to: pipeline, atomically: true, encoding: .utf8)
        let root = temp.appendingPathComponent("root")
        try runShards(pipeline, root: root, count: 2)
        let merge = try CLIHarness.run(["merge", root.path, "--out", temp.appendingPathComponent("merged").path])
        XCTAssertEqual(merge.status, 1, merge.stderr)
        XCTAssertTrue(merge.stderr.contains("the merged output holds no images"), merge.stderr)
    }
}
