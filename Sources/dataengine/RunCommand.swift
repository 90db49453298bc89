import ArgumentParser
import Bench
import Foundation
import Support
import Pipeline
import Stages

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline file into a new run directory.",
        discussion: """
            Loads the source, runs the stages in checkpointed units on --workers threads, writes the \
            datasets, statistics and a report (report.md) into the run directory. Progress goes to stderr. \
            Interrupt with Ctrl-C (or lose power): `dataengine resume RUNDIR` finishes the run, and the \
            result is byte-for-byte what an uninterrupted run writes, for any --workers.

            On a cluster, each task runs one shard (the source items whose position is i modulo n) into \
            RUNROOT/shard-0000i-of-0000n; a task that finds its shard's run directory resumes it, and a \
            finished shard prints its summary and exits 0; `dataengine merge RUNROOT --out DIR` then writes \
            the unsharded run's output (docs/scale-out.md, deploy/ for Slurm and Kubernetes).

            Examples:
              dataengine run pipelines/demo-filter.yaml --run-dir runs/demo-filter \\
                --workers 2
              dataengine run pipelines/coco-de.yaml --shard auto --shard-count 100 \\
                --run-root /shared/coco-de       # a Slurm array task or an Indexed Job pod
            """)

    @Argument(help: "The pipeline file (YAML). See pipelines/README.md.")
    var pipeline: String

    @Option(help: "The run directory to create (default: the first free runs/<pipeline name>, runs/<name>-2, ...).")
    var runDir: String?

    @Option(help: "Units of work run at once (default: the number of cores).")
    var workers: Int?

    @Option(help: "Run one shard: i/n, or auto (the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX). Overrides the file's source.shard.")
    var shard: String?

    @Option(help: "The number of shards for --shard auto (default: DATAENGINE_SHARD_COUNT).")
    var shardCount: Int?

    @Option(help: "With --shard: the folder holding every shard's run directory (shard-00003-of-00010) and shards.json.")
    var runRoot: String?

    var workerCount: Int { workers ?? AvailableCPUs.current.count }

    func validate() throws {
        guard workerCount >= 1 else { throw ValidationError("--workers must be at least 1") }
        if runRoot != nil && shard == nil { throw ValidationError("--run-root goes with --shard (auto or i/n)") }
        if runRoot != nil && runDir != nil { throw ValidationError("give --run-root (one folder per shard under it) or --run-dir, not both") }
        if shardCount != nil && shard != "auto" { throw ValidationError("--shard-count goes with --shard auto") }
    }

    /// The shard this task runs, from --shard and the environment.
    func shardSpec() throws -> ShardSpec? {
        guard let shard else { return nil }
        return shard == "auto" ? try ShardSpec.fromEnvironment(count: shardCount) : try ShardSpec(parsing: shard)
    }

    @OptionGroup var winogradCache: WinogradCacheOption

    func run() throws {
        winogradCache.apply()
        let resources = RunResources()
        let shard = try shardSpec()
        var dir = URL(fileURLWithPath: runDir ?? Self.freeRunDirectory(for: pipeline))
        if let runRoot, let shard {
            let root = URL(fileURLWithPath: runRoot)
            try ShardRoot(count: shard.count, plan: ResolvedPlan(PipelineFile.load(path: pipeline, catalog: .builtIn))).register(at: root)
            dir = root.appendingPathComponent(shard.directoryName)
        }
        let watcher = InterruptWatcher()
        FileHandle.standardError.write(Data("run directory: \(dir.path)\nworkers: \(workerCount) on \(AvailableCPUs.current)\n".utf8))
        let logger = FileLogHandler.logger(label: "dataengine", path: dir.appendingPathComponent("log.txt").path)
        let options = PipelineRun.Options(workers: workerCount, progress: Self.progressReporter(resources), resources: resources,
                                          isCancelled: { watcher.isInterrupted })
        let report: RunReport
        do {
            if runRoot != nil, RunDirectory(dir).exists {
                // A requeued task or a replaced pod: continue its shard (a finished one returns its report at once).
                report = try PipelineRun.resume(runDirectory: dir, catalog: .builtIn, logger: logger, options: options)
            } else {
                report = try PipelineRun.start(pipelinePath: pipeline, catalog: .builtIn, shard: shard, runDirectory: dir, logger: logger, options: options)
            }
        } catch let waiting as WaitingForRoundPlan {
            // The task did its part up to the quota round that `merge` plans from every shard: not a failure.
            print("shard \(shard.map(\.description) ?? "?"): \(waiting)")
            return
        }
        print(report.summary(), terminator: "")
        if let timings = resources.timings.summary() { print(timings) }
        if let shard, let reason = report.nothingWritten {
            // One shard may hold nothing that survives; merge checks the total.
            FileHandle.standardError.write(Data("warning: shard \(shard): \(reason)\n".utf8))
            return
        }
        try RunCommand.refuseEmpty(report)
    }

    /// The progress line, with the images generated so far (generation units run for minutes).
    static func progressReporter(_ resources: RunResources) -> ProgressReporter {
        let reporter = ProgressReporter()
        reporter.detail = { resources.timings.progressDetail() }
        return reporter
    }

    /// A run that wrote no images failed, whatever its stages did: exit 1 with the reason.
    static func refuseEmpty(_ report: RunReport) throws {
        guard let reason = report.nothingWritten else { return }
        throw PipelineError(message: reason, hint: "every stage's counts are in \(report.runDirectory)/report.md")
    }

    static func freeRunDirectory(for pipeline: String) -> String {
        let name = URL(fileURLWithPath: pipeline).deletingPathExtension().lastPathComponent
        var candidate = "runs/\(name)"
        var n = 2
        // A folder without plan.json holds no run (e.g. only the log of a run that failed to start): reuse it.
        while FileManager.default.fileExists(atPath: candidate), RunDirectory(URL(fileURLWithPath: candidate)).exists {
            candidate = "runs/\(name)-\(n)"
            n += 1
        }
        return candidate
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish an interrupted run.",
        discussion: """
            Skips every committed unit and redoes the rest. Refuses when the pipeline file, the input \
            annotations or images, or model weights changed since the run started, and says what changed.

            Example:
              dataengine resume runs/demo-filter
            """)

    @Argument(help: "The run directory of the interrupted run.")
    var runDirectory: String

    @Option(help: "Units of work run at once (default: the number of cores). Does not change the result.")
    var workers: Int?

    var workerCount: Int { workers ?? AvailableCPUs.current.count }

    @OptionGroup var winogradCache: WinogradCacheOption

    func run() throws {
        winogradCache.apply()
        let resources = RunResources()
        let dir = URL(fileURLWithPath: runDirectory)
        let watcher = InterruptWatcher()
        let logger = FileLogHandler.logger(label: "dataengine", path: dir.appendingPathComponent("log.txt").path)
        let report: RunReport
        do {
            report = try PipelineRun.resume(runDirectory: dir, catalog: .builtIn, logger: logger,
                                            options: .init(workers: max(1, workerCount), progress: RunCommand.progressReporter(resources),
                                                           resources: resources, isCancelled: { watcher.isInterrupted }))
        } catch let waiting as WaitingForRoundPlan {
            print("\(waiting)")
            return
        }
        print(report.summary(), terminator: "")
        if let timings = resources.timings.summary() { print(timings) }
        try RunCommand.refuseEmpty(report)
    }
}
