import ArgumentParser
import Foundation
import Datasets
import Pipeline
import Stages

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file and the data it names; print the resolved plan. Runs nothing.",
        discussion: """
            Checks the YAML strictly (unknown keys, wrong types, missing values are errors with line and
            column), builds the stage graph, reads the source annotations and checks that every image file
            exists, then prints the plan with every default filled in and what the source holds.

            Example:
              dataengine validate pipelines/demo-voc-to-coco.yaml
            """)

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    func run() throws {
        let file = try PipelineFile.load(path: pipeline)
        let plan = ResolvedPlan(file)
        _ = try ExecutionGraph(plan: plan)
        print("# Resolved plan (every default filled in)")
        print(try plan.yaml())
        let source = try LoadStage.load(plan.source)
        let boxes = source.items.reduce(0) { $0 + $1.annotations.count }
        let captions = source.items.reduce(0) { $0 + $1.captions.count }
        print("# Source `\(plan.source.name)` (\(plan.source.format.rawValue))")
        print("images: \(source.items.count) readable, \(source.dropped.count) missing")
        print("boxes: \(boxes), categories: \(source.meta.categories.count), captions: \(captions)")
        print("batches of \(plan.batchSize): \((source.items.count + plan.batchSize - 1) / plan.batchSize)")
        if source.issues.isEmpty {
            print("input problems: none")
        } else {
            let counts = source.issues.reduce(into: [String: Int]()) { $0[$1.kind.rawValue, default: 0] += 1 }
            print("input problems (skipped or fixed during a run): " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
            for issue in source.issues.prefix(10) { print("  - \(issue.file), \(issue.record): \(issue.message)") }
            if source.issues.count > 10 { print("  - … \(source.issues.count - 10) more") }
        }
        print("OK: \(pipeline) is valid")
    }
}
