import ArgumentParser
import Bench
import Foundation
import Datasets
import Pipeline
#if canImport(Glibc)
import Glibc
#endif

@main
struct DataEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataengine",
        abstract: "Build labelled object-detection datasets with a diffusion model (DiffusionEngine).",
        discussion: """
            A pipeline file (YAML) names a source dataset (COCO or VOC) and a graph of stages. Runs are \
            checkpointed: interrupt one at any moment and `dataengine resume RUNDIR` finishes it with exactly \
            the bytes an uninterrupted run would have written.

            Examples:
              dataengine validate pipelines/demo-filter.yaml
              dataengine run pipelines/demo-filter.yaml --run-dir runs/demo
              dataengine resume runs/demo
              dataengine stats data/demo/coco/annotations/instances_train.json
              dataengine eval --gt instances_val.json --pred detections.json

            Exit codes: 0 done, 1 failed, 2 bad usage or bad pipeline file, 3 shards unfinished (status) or a quota \
            round planned (merge), 130 interrupted.
            """,
        version: DataEngineVersion.string,
        subcommands: [RunCommand.self, ResumeCommand.self, MergeCommand.self, StatusCommand.self, ValidateCommand.self, StatsCommand.self, GenerateCommand.self, DetectCommand.self, EvalCommand.self, BenchCommand.self])

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(status: ExitStatus.report(error))
        }
    }

    static func exit(status: Int32) -> Never { Glibc.exit(status) }
}

/// The version `dataengine --version` prints.
enum DataEngineVersion {
    static let string = "0.7.0"
}
