import ArgumentParser
import Foundation
import Pipeline
import Stages

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the finished shards of a run root into one run's output.",
        discussion: """
            Checks that every shard of the run root's count exists, is finished and ran the same plan (apart \
            from its shard), the same inputs, models and compute kernels, naming each one that is missing, \
            unfinished or different; then writes OUT laid out as RUNDIR/output/ of the unsharded run, byte for \
            byte what that run writes (images hard-linked where possible). Write stages are spliced from the \
            files their shards wrote (seconds at COCO scale); shards run by an older dataengine are placed unit \
            by unit from their checkpoints. Safe to run again: a merge killed half-way leaves OUT untouched, and a later \
            merge of the same run root replaces its own OUT.

            Examples:
              dataengine run pipelines/demo.yaml --shard 0/2 --run-root runs/demo-sharded
              dataengine run pipelines/demo.yaml --shard 1/2 --run-root runs/demo-sharded
              dataengine merge runs/demo-sharded --out runs/demo-sharded/merged
            """)

    @Argument(help: "The run root: the --run-root the shards ran with.")
    var runRoot: String

    @Option(help: "The folder to write (one subfolder per write stage, as in RUNDIR/output/).")
    var out: String

    func run() throws {
        let summary = try ShardMerge.run(runRoot: URL(fileURLWithPath: runRoot), out: URL(fileURLWithPath: out), catalog: .builtIn)
        print("merged \(summary.shards) shards (\(summary.sourceItems) source images) into \(out) in \(String(format: "%.1f", summary.seconds)) s")
        for (stage, sink) in summary.outputs.sorted(by: { $0.key < $1.key }) {
            print("  \(stage): \(sink.images) images, \(sink.annotations) boxes")
            for (name, path) in sink.outputs.sorted(by: { $0.key < $1.key }) { print("    \(name): \(path)") }
            for problem in sink.problems ?? [] { print("    problem: \(problem)") }
        }
        print("  time: " + summary.phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds)) s" }.joined(separator: ", "))
        if summary.outputs.values.allSatisfy({ $0.images == 0 }) {
            throw PipelineError(message: "the merged output holds no images", hint: "every shard's report.md says what its stages dropped")
        }
    }
}
