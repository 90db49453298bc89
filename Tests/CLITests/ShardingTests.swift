import Foundation
import XCTest

/// `run --shard auto --run-root`: each task takes its index from the cluster's variables, runs its shard into
/// RUNROOT/shard-i-of-n, and together the shards hold exactly the unsharded run's images.
final class ShardingTests: XCTestCase {
    var temp: URL!
    var pipeline: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path
        pipeline = temp.appendingPathComponent("tiny.yaml")
        try """
            seed: 4
            batch_size: 3
            source:
              format: coco
              instances: \(demo)/coco/annotations/instances_train.json
              images: \(demo)/coco/train
              limit: 10
            stages:
              - kind: filter
                min_object_area: 0.02
              - id: coco
                kind: write
            """.write(to: pipeline, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func imageNames(_ runDirectory: URL) throws -> [String] {
        let file = runDirectory.appendingPathComponent("output/coco/annotations/instances_coco.json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        // Without the writer's shard folder, which merge renumbers: shard-00001/000000000004.jpg -> 000000000004.jpg.
        return (json["images"] as? [[String: Any]] ?? []).compactMap { ($0["file_name"] as? String)?.split(separator: "/").last.map(String.init) }
    }

    func testShardsFromTheClusterVariablesCoverTheUnshardedRun() throws {
        let whole = temp.appendingPathComponent("whole")
        XCTAssertEqual(try CLIHarness.run(["run", pipeline.path, "--run-dir", whole.path]).status, 0)
        let root = temp.appendingPathComponent("root")
        var names: [String] = []
        for (index, variable) in [(0, "JOB_COMPLETION_INDEX"), (1, "SLURM_ARRAY_TASK_ID"), (2, "JOB_COMPLETION_INDEX")] {
            let result = try CLIHarness.run(["run", pipeline.path, "--shard", "auto", "--run-root", root.path],
                                            environment: [variable: "\(index)", "DATAENGINE_SHARD_COUNT": "3"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let shard = root.appendingPathComponent(String(format: "shard-%05d-of-00003", index))
            names += try imageNames(shard)
            let plan = try String(contentsOf: shard.appendingPathComponent("plan.json"), encoding: .utf8)
            XCTAssertTrue(plan.contains("\"shard\" : \"\(index)/3\""), "the effective shard is in the plan: \(plan)")
        }
        XCTAssertEqual(names.sorted(), try imageNames(whole).sorted(), "the shards together are the unsharded run (limit before shard)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("shards.json").path))
        // Shards run under Kubernetes' and Slurm's variables merge to the unsharded run's bytes.
        let merged = temp.appendingPathComponent("merged")
        let merge = try CLIHarness.run(["merge", root.path, "--out", merged.path])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertEqual(CLIHarness.files(under: merged), CLIHarness.files(under: whole.appendingPathComponent("output")))

        // A finished shard: summary, exit 0, nothing rewritten.
        let shard1 = root.appendingPathComponent("shard-00001-of-00003/report.md")
        let before = try Data(contentsOf: shard1)
        let again = try CLIHarness.run(["run", pipeline.path, "--shard", "auto", "--shard-count", "3", "--run-root", root.path],
                                       environment: ["SLURM_ARRAY_TASK_ID": "1"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(try Data(contentsOf: shard1), before)

        // Another count for the same root, an index beyond the count, no index at all: refused, saying why.
        let other = try CLIHarness.run(["run", pipeline.path, "--shard", "auto", "--run-root", root.path],
                                       environment: ["JOB_COMPLETION_INDEX": "0", "DATAENGINE_SHARD_COUNT": "4"])
        XCTAssertEqual(other.status, 1, other.stderr)
        XCTAssertTrue(other.stderr.contains("holds a run of 3 shards"), other.stderr)
        let beyond = try CLIHarness.run(["run", pipeline.path, "--shard", "auto", "--shard-count", "3", "--run-root", root.path],
                                        environment: ["JOB_COMPLETION_INDEX": "3"])
        XCTAssertNotEqual(beyond.status, 0)
        XCTAssertTrue(beyond.stderr.contains("shard 3 of 3 does not exist"), beyond.stderr)
        let none = try CLIHarness.run(["run", pipeline.path, "--shard", "auto", "--shard-count", "3", "--run-root", root.path],
                                      environment: [:])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX"), none.stderr)
    }

    /// A task uses the CPUs it was given: under `taskset -c 0` or with SLURM_CPUS_PER_TASK=1 a run has one worker.
    func testWorkersFollowTheAllocatedCPUs() throws {
        guard ProcessInfo.processInfo.processorCount > 1 else { throw XCTSkip("one core: nothing to restrict") }
        let taskset = Process()
        taskset.executableURL = URL(fileURLWithPath: "/usr/bin/taskset")
        taskset.arguments = ["-c", "0", CLIHarness.executable.path, "run", pipeline.path, "--run-dir", temp.appendingPathComponent("pinned").path]
        let stderr = Pipe()
        taskset.standardError = stderr
        taskset.standardOutput = Pipe()
        try taskset.run()
        let text = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        taskset.waitUntilExit()
        XCTAssertEqual(taskset.terminationStatus, 0, text)
        XCTAssertTrue(text.contains("workers: 1 on 1 CPU (affinity mask)"), text)

        let slurm = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent("slurm").path],
                                       environment: ["SLURM_CPUS_PER_TASK": "1"])
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        XCTAssertTrue(slurm.stderr.contains("workers: 1 on 1 CPU (SLURM_CPUS_PER_TASK)"), slurm.stderr)
        let free = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent("free").path])
        XCTAssertTrue(free.stderr.contains("workers: \(ProcessInfo.processInfo.processorCount) on"), free.stderr)
    }
}
