import Foundation
import XCTest
import Yams

/// deploy/k8s and deploy/slurm: the fields a sharded run depends on. (The Slurm scripts run for real in
/// deploy/slurm/test.sh; the container's binary is checked with ldd by deploy/k8s/test.sh.)
final class DeployManifestTests: XCTestCase {
    let deploy = CLIHarness.repositoryRoot.appendingPathComponent("deploy")

    func yaml(_ name: String) throws -> [String: Any] {
        let text = try String(contentsOf: deploy.appendingPathComponent("k8s/\(name)"), encoding: .utf8)
        return try XCTUnwrap(try Yams.load(yaml: text) as? [String: Any], name)
    }

    func value(_ object: Any?, _ path: String...) -> Any? {
        path.reduce(object) { ($0 as? [String: Any])?[$1] }
    }

    func container(_ job: [String: Any]) throws -> [String: Any] {
        try XCTUnwrap((value(job, "spec", "template", "spec", "containers") as? [[String: Any]])?.first)
    }

    func claim(_ job: [String: Any]) -> String? {
        (value(job, "spec", "template", "spec", "volumes") as? [[String: Any]])?.compactMap { value($0, "persistentVolumeClaim", "claimName") as? String }.first
    }

    func testTheIndexedJobRunsOneShardPerIndexOnSharedStorage() throws {
        let job = try yaml("job.yaml")
        XCTAssertEqual(job["kind"] as? String, "Job")
        XCTAssertEqual(value(job, "spec", "completionMode") as? String, "Indexed")
        let completions = try XCTUnwrap(value(job, "spec", "completions") as? Int)
        XCTAssertNotNil(value(job, "spec", "parallelism") as? Int)
        XCTAssertNotNil(value(job, "spec", "backoffLimitPerIndex") as? Int)
        XCTAssertEqual(value(job, "spec", "template", "spec", "restartPolicy") as? String, "Never")
        let main = try container(job)
        let env = try XCTUnwrap(main["env"] as? [[String: Any]])
        XCTAssertEqual(env.first { $0["name"] as? String == "DATAENGINE_SHARD_COUNT" }?["value"] as? String, String(completions),
                       "the shard count is the Job's completions")
        let args = try XCTUnwrap(main["args"] as? [String])
        XCTAssertEqual(Array(args.prefix(1)), ["run"])
        let shard = try XCTUnwrap(args.firstIndex(of: "--shard"))
        XCTAssertEqual(args[shard + 1], "auto")
        let runRoot = try XCTUnwrap(args.firstIndex(of: "--run-root").map { args[$0 + 1] })
        XCTAssertTrue(FileManager.default.fileExists(atPath: CLIHarness.repositoryRoot.appendingPathComponent(args[1]).path),
                      "the pipeline \(args[1]) ships in the image")
        let mounts = try XCTUnwrap(main["volumeMounts"] as? [[String: Any]])
        XCTAssertTrue(mounts.contains { runRoot.hasPrefix(($0["mountPath"] as? String ?? "?") + "/") }, "the run root \(runRoot) is on the shared volume")
        XCTAssertNotNil(value(main, "resources", "limits", "cpu"), "a CPU limit, which the workers follow")

        let merge = try yaml("merge-job.yaml")
        let mergeArgs = try XCTUnwrap(try container(merge)["args"] as? [String])
        XCTAssertEqual(Array(mergeArgs.prefix(2)), ["merge", runRoot])
        XCTAssertTrue(mergeArgs.contains("--out"))
        XCTAssertEqual(claim(merge), claim(job))

        let pvc = try yaml("pvc.yaml")
        XCTAssertEqual(value(pvc, "metadata", "name") as? String, claim(job))
        XCTAssertEqual(value(pvc, "spec", "accessModes") as? [String], ["ReadWriteMany"])
    }

    func testTheContainerRecipeShipsTheStaticBinaryAndTheDemo() throws {
        let recipe = try String(contentsOf: deploy.appendingPathComponent("k8s/Dockerfile"), encoding: .utf8)
        let build = try String(contentsOf: deploy.appendingPathComponent("k8s/build-binary.sh"), encoding: .utf8)
        XCTAssertTrue(recipe.contains("deploy/k8s/build-binary.sh"))
        XCTAssertTrue(build.contains("--static-swift-stdlib"))
        for library in ["libopenblas0", "libjpeg62-turbo", "libzstd1"] { XCTAssertTrue(recipe.contains(library), library) }
        for folder in ["pipelines", "data/demo", "models/demo"] { XCTAssertTrue(recipe.contains("COPY \(folder) \(folder)"), folder) }
    }

    func testTheSlurmScriptsShardByTheArrayAndMergeAfterAny() throws {
        let task = try String(contentsOf: deploy.appendingPathComponent("slurm/dataengine.sbatch"), encoding: .utf8)
        let submit = try String(contentsOf: deploy.appendingPathComponent("slurm/submit.sh"), encoding: .utf8)
        XCTAssertTrue(task.contains("--shard auto --run-root"))
        XCTAssertTrue(task.contains("#SBATCH --requeue"))
        XCTAssertTrue(task.contains("#SBATCH --cpus-per-task="))
        XCTAssertTrue(task.contains("#SBATCH --mem="))
        XCTAssertTrue(submit.contains("--array="))
        XCTAssertTrue(submit.contains("--dependency=afterany:"))
        XCTAssertTrue(submit.contains("DATAENGINE_SHARD_COUNT="))
    }
}
