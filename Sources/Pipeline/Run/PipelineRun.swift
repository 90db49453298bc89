import Foundation
import Logging
import Datasets
import Support

/// One run of a pipeline in its run directory: plans units from what is already committed, runs them on a
/// worker pool, and ends with the run report. Starting and resuming are the same code: a fresh run simply
/// has nothing committed yet.
// Unchecked: the scheduling state below is guarded by `stateLock`; everything else is immutable after init.
public final class PipelineRun: @unchecked Sendable {
    public struct Options: Sendable {
        public var workers: Int
        /// Cores the run may use; each unit gets `cores / workers` threads (at least one).
        public var cores: Int
        public var progress: ProgressReporter?
        public var isCancelled: @Sendable () -> Bool
        /// Shared by the run's units (`StageContext.resources`); the caller keeps it to read timings afterwards.
        public var resources: RunResources

        public init(workers: Int, cores: Int = AvailableCPUs.current.count, progress: ProgressReporter? = nil,
                    resources: RunResources = RunResources(), isCancelled: @escaping @Sendable () -> Bool = { false }) {
            self.resources = resources
            self.workers = max(1, workers)
            self.cores = max(1, cores)
            self.progress = progress
            self.isCancelled = isCancelled
        }

        public var threadsPerUnit: Int { max(1, cores / workers) }
    }

    public let plan: ResolvedPlan
    public let directory: RunDirectory
    let graph: ExecutionGraph
    let checkpoints: Checkpoints
    let processTimes: ProcessTimes
    let logger: Logger
    let options: Options

    // Scheduling state, guarded by the worker pool's lock.
    var done = Set<RunTask>()
    var loadSummary: LoadSummary?
    var barrierBatches: [Int: Int] = [:]
    /// Rounds segments: the number of items planned for each round whose plan committed (0 = the rounds ended).
    var roundCounts: [Int: [Int]] = [:]
    var cursor: [Int: Int] = [:]
    /// A shard of a run root: where `merge` writes the round plans of its rounds stages (`RUNROOT/rounds/`), which
    /// every shard runs its part of; nil for a run on one machine (it plans its rounds itself). Set by `execute`.
    var sharedRounds: Checkpoints?
    /// Rounds segments waiting for `merge` to plan their next round (segment -> round).
    var awaitedRounds: [Int: Int] = [:]
    let stateLock = NSLock()

    init(plan: ResolvedPlan, directory: RunDirectory, logger: Logger, options: Options) throws {
        self.plan = plan
        self.directory = directory
        self.graph = try ExecutionGraph(plan: plan)
        self.checkpoints = Checkpoints(root: directory.checkpoints, runRoot: directory.url.path)
        self.processTimes = ProcessTimes(directory: directory)
        self.logger = logger
        self.options = options
    }

    // MARK: Starting and resuming

    /// Starts a new run of the pipeline file in `runDirectory` (which must not hold a run yet).
    /// `shard` overrides the pipeline file's `source.shard`; it is recorded, so `resume` needs no flag.
    public static func start(pipelinePath: String, catalog: StageCatalog, shard: ShardSpec? = nil, runDirectory: URL, logger: Logger,
                             options: Options) throws -> RunReport {
        let file = try PipelineFile.load(path: pipelinePath, catalog: catalog)
        var plan = ResolvedPlan(file)
        if let shard { plan = try plan.sharded(shard) }
        try plan.checkDependenciesExist(file: pipelinePath)
        let directory = RunDirectory(runDirectory)
        if directory.exists, FileManager.default.fileExists(atPath: directory.reportJSON.path),
           let stored = try? decodeJSON(Fingerprint.self, from: directory.fingerprintFile),
           try Fingerprint.compute(plan: plan, kernel: catalog.kernelPath).differences(from: stored).isEmpty {
            // This very run, finished: resume checks it and returns its report, rewriting nothing.
            return try resume(runDirectory: runDirectory, catalog: catalog, logger: logger, options: options)
        }
        if directory.exists {
            throw PipelineError(message: "\(directory.path) already holds a run",
                                hint: "continue it with `dataengine resume \(directory.path)`, or start afresh with another --run-dir (or delete that folder)")
        }
        try directory.lock()
        let run = try PipelineRun(plan: plan, directory: directory, logger: logger, options: options)
        let text = try String(contentsOfFile: pipelinePath, encoding: .utf8)
        // origin.json first: a run killed before plan.json is resumed from the pipeline file it names.
        let absolute = pipelinePath.hasPrefix("/") ? pipelinePath : FileManager.default.currentDirectoryPath + "/" + pipelinePath
        let origin = RunOrigin(pipelinePath: URL(fileURLWithPath: absolute).standardized.path, shard: shard)
        try AtomicFile.write(try encodeJSON(origin), to: directory.originFile)
        try AtomicFile.write(text, to: directory.pipelineCopy)
        try AtomicFile.write(try encodeJSON(Fingerprint.compute(plan: plan, kernel: catalog.kernelPath)), to: directory.fingerprintFile)
        // plan.json is written last: its presence marks a run directory.
        try AtomicFile.write(try plan.canonicalJSON(), to: directory.planFile)
        logger.info("started run of \(pipelinePath) in \(directory.path)")
        return try run.execute()
    }

    /// Continues a run after an interruption. Refuses when the pipeline, its inputs or models changed.
    public static func resume(runDirectory: URL, catalog: StageCatalog, logger: Logger, options: Options) throws -> RunReport {
        let directory = RunDirectory(runDirectory)
        guard directory.exists else {
            // Killed in its first moments (before plan.json): nothing ran yet, so start it from its pipeline file.
            if let origin = try? decodeJSON(RunOrigin.self, from: directory.originFile),
               FileManager.default.fileExists(atPath: origin.pipelinePath) {
                logger.info("\(directory.path) was interrupted before it started; starting it from \(origin.pipelinePath)")
                return try start(pipelinePath: origin.pipelinePath, catalog: catalog, shard: origin.shard, runDirectory: runDirectory,
                                 logger: logger, options: options)
            }
            throw PipelineError(message: "\(directory.path) is not a run directory (no plan.json)",
                                hint: "start a run with `dataengine run PIPELINE.yaml --run-dir \(directory.path)`")
        }
        try directory.lock()
        let origin: RunOrigin = try decodeJSON(RunOrigin.self, from: directory.originFile)
        // Parse the pipeline as the user has it now; fall back to the copy if the original is gone.
        let originalExists = FileManager.default.fileExists(atPath: origin.pipelinePath)
        let text = try String(contentsOfFile: originalExists ? origin.pipelinePath : directory.pipelineCopy.path, encoding: .utf8)
        let defaultName = URL(fileURLWithPath: origin.pipelinePath).deletingPathExtension().lastPathComponent
        let file = try PipelineFile.parse(text, file: origin.pipelinePath, defaultName: defaultName, catalog: catalog)
        var plan = ResolvedPlan(file)
        if let shard = origin.shard { plan = try plan.sharded(shard) }
        let stored = try decodeJSON(Fingerprint.self, from: directory.fingerprintFile)
        let current = try Fingerprint.compute(plan: plan, kernel: catalog.kernelPath)
        let changes = current.differences(from: stored)
        if !changes.isEmpty {
            let pipelineChanged = current.plan != stored.plan
            throw PipelineError(message: "cannot resume \(directory.path): " + changes.joined(separator: "; "),
                                hint: "outputs would no longer match: restore " + (pipelineChanged ? "the pipeline file (the run's copy is \(directory.pipelineCopy.path))" : "what changed")
                                    + ", or start a new run with `dataengine run \(origin.pipelinePath) --run-dir NEW_FOLDER`")
        }
        directory.removeLeftoverTemporaryFiles()
        let run = try PipelineRun(plan: plan, directory: directory, logger: logger, options: options)
        logger.info("resuming run in \(directory.path)")
        return try run.execute(checkImages: true)
    }

    // MARK: Running

    func execute(checkImages: Bool = false) throws -> RunReport {
        sharedRounds = sharedRoundPlans()
        try scanCommitted()
        if checkImages, let summary = loadSummary {
            let items = try (0..<summary.batches).flatMap { try checkpoints.load(UnitOutput.self, stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName($0)).items }
            let files = try plan.makeSource().itemFiles(items)
            if Fingerprint.imagesHash(paths: files) != summary.imagesHash {
                var which = ""
                if let stored = try? checkpoints.load([String].self, stage: ResolvedPlan.sourceId, unit: "images") {
                    let changed = zip(files, zip(stored, Fingerprint.fileSignatures(files))).filter { $0.1.0 != $0.1.1 }.map(\.0)
                    if !changed.isEmpty {
                        which = ": " + changed.prefix(5).joined(separator: ", ") + (changed.count > 5 ? " and \(changed.count - 5) more" : "")
                    }
                }
                throw PipelineError(message: "cannot resume \(directory.path): image files changed (size or modification time) since the run started\(which)",
                                    hint: "restore them, or start a new run with `dataengine run PIPELINE --run-dir NEW_FOLDER`")
            }
        }
        if allTasksKnown().allSatisfy(done.contains), let report = try? decodeJSON(RunReport.self, from: directory.reportJSON) {
            return report  // finished: nothing to do, nothing rewritten
        }
        options.progress?.begin(stages: [ResolvedPlan.sourceId] + graph.segments.map { $0.stageIds.joined(separator: "+") })
        reportProgress()
        let pool = WorkerPool<RunTask>(workers: options.workers)
        // Long units (generation) would leave the progress line still for minutes: redraw it every few seconds.
        var ticker: DispatchSourceTimer?
        if options.progress?.detail != nil {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
            timer.schedule(deadline: .now() + 2, repeating: 2)
            timer.setEventHandler { [weak self] in self?.reportProgress() }
            timer.resume()
            ticker = timer
        }
        defer { ticker?.cancel() }
        do {
            try pool.run(
                next: { [self] running in nextTask(excluding: running) },
                completed: { [self] task in markDone(task) },
                isCancelled: options.isCancelled,
                execute: { [self] task in try perform(task) })
        } catch is CancellationError {
            throw RunInterrupted(runDirectory: directory.path)
        }
        ticker?.cancel()
        if options.isCancelled() { throw RunInterrupted(runDirectory: directory.path) }
        options.progress?.finish()
        let unfinished = allTasksKnown().filter { !done.contains($0) }
        if let (segment, round) = awaitedRounds.min(by: { $0.key < $1.key }) {
            throw WaitingForRoundPlan(runDirectory: directory.path, stage: graph.segments[segment].head, round: round)
        }
        guard unfinished.isEmpty else {
            throw PipelineError(message: "the run stopped with \(unfinished.count) units not done (first: \(unfinished[0]))",
                                hint: "this is a bug; the run directory is intact: try `dataengine resume \(directory.path)`")
        }
        let report = try RunReport.build(run: self, wallSeconds: processTimes.total())
        try report.write(to: directory)
        logger.info("run finished in \(String(format: "%.1f", report.wallSeconds)) s")
        return report
    }

    /// Records what earlier processes committed.
    func scanCommitted() throws {
        if checkpoints.isCommitted(stage: ResolvedPlan.sourceId, unit: "summary") {
            loadSummary = try checkpoints.load(LoadSummary.self, stage: ResolvedPlan.sourceId, unit: "summary")
            done.insert(.load)
        }
        for segment in graph.segments {
            if segment.isBarrier, checkpoints.isCommitted(stage: segment.tail, unit: "summary") {
                barrierBatches[segment.index] = try checkpoints.load(BarrierSummary.self, stage: segment.tail, unit: "summary").batches
                done.insert(.barrier(segment: segment.index))
            }
            let folder = checkpoints.root.appendingPathComponent(segment.tail)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
            if segment.isRounds { try scanRounds(segment, names: Set(names)) }
            if segment.isBarrier { continue }
            for name in names {
                if name == "final.json.zst" { done.insert(.finalize(segment: segment.index)) }
                if name.hasPrefix("batch-"), name.hasSuffix(".json.zst"), let b = Int(name.dropFirst(6).prefix(5)) {
                    done.insert(.unit(segment: segment.index, batch: b))
                }
            }
        }
    }

    // MARK: Planning

    /// How many batches a segment has, once that is known.
    func batchCount(_ segment: Int) -> Int? {
        let s = graph.segments[segment]
        if s.isBarrier { return barrierBatches[segment] }
        guard let input = s.input else { return loadSummary?.batches }
        return batchCount(input)
    }

    func inputDone(_ segment: Int, batch: Int) -> Bool {
        guard let input = graph.segments[segment].input else { return done.contains(.load) }
        if graph.segments[input].isBarrier { return done.contains(.barrier(segment: input)) }
        return done.contains(.unit(segment: input, batch: batch))
    }

    func allUnitsDone(_ segment: Int) -> Bool {
        if graph.segments[segment].isBarrier { return done.contains(.barrier(segment: segment)) }
        guard let count = batchCount(segment) else { return false }
        return (0..<count).allSatisfy { done.contains(.unit(segment: segment, batch: $0)) }
    }

    func nextTask(excluding running: Set<RunTask>) -> RunTask? {
        stateLock.lock(); defer { stateLock.unlock() }
        if !done.contains(.load) { return running.contains(.load) ? nil : .load }
        // Downstream segments first, so batches flow through to the writer early.
        for segment in graph.segments.reversed() {
            let s = segment.index
            if segment.isBarrier {
                let task = RunTask.barrier(segment: s)
                let inputReady = segment.input.map(allUnitsDone) ?? done.contains(.load)
                guard !done.contains(task), inputReady else { continue }
                if segment.isRounds {
                    if let next = nextRoundTask(segment: s, excluding: running) { return next }
                } else if !running.contains(task) {
                    return task
                }
                continue
            }
            guard let count = batchCount(s) else { continue }
            var b = cursor[s] ?? 0
            while b < count, done.contains(.unit(segment: s, batch: b)) { b += 1 }
            cursor[s] = b
            while b < count {
                let task = RunTask.unit(segment: s, batch: b)
                if !done.contains(task), !running.contains(task), inputDone(s, batch: b) { return task }
                b += 1
            }
            if segment.isSink, allUnitsDone(s) {
                let task = RunTask.finalize(segment: s)
                if !done.contains(task), !running.contains(task) { return task }
            }
        }
        return nil
    }

    func markDone(_ task: RunTask) {
        stateLock.lock()
        done.insert(task)
        stateLock.unlock()
        processTimes.record()
        reportProgress()
    }

    /// Every task the run consists of (known once the load and barriers have committed).
    func allTasksKnown() -> [RunTask] {
        var tasks: [RunTask] = [.load]
        for segment in graph.segments {
            if segment.isBarrier {
                tasks += roundTasksKnown(segment.index)
                tasks.append(.barrier(segment: segment.index))
                continue
            }
            let count = batchCount(segment.index) ?? 0
            tasks += (0..<count).map { RunTask.unit(segment: segment.index, batch: $0) }
            if segment.isSink { tasks.append(.finalize(segment: segment.index)) }
        }
        return tasks
    }

    func reportProgress() {
        guard let progress = options.progress else { return }
        stateLock.lock()
        var rows: [(done: Int, total: Int?)] = [(done.contains(.load) ? 1 : 0, 1)]
        for segment in graph.segments {
            if segment.isBarrier {
                rows.append((done.contains(.barrier(segment: segment.index)) ? 1 : 0, 1))
            } else {
                let count = batchCount(segment.index)
                let finished = done.filter { if case .unit(let s, _) = $0 { return s == segment.index }; return false }.count
                rows.append((finished, count))
            }
        }
        stateLock.unlock()
        progress.update(units: rows, batchSize: plan.batchSize)
    }

    // MARK: Performing units

    func context(stage: String, unit: Int, output: URL? = nil) -> StageContext {
        StageContext(runSeed: plan.seed, stageId: stage, meta: loadSummary!.meta, unitIndex: unit, outputDirectory: output,
                     computeThreads: options.threadsPerUnit, workDirectory: directory.work(of: stage), resources: options.resources,
                     isCancelled: options.isCancelled)
    }

    /// `DATAENGINE_UNIT_DELAY_MS`: sleep this long before each unit. Only for testing interruption: it
    /// stretches a tiny run so a test can kill it at many different points.
    let unitDelay: UInt32 = UInt32(ProcessInfo.processInfo.environment["DATAENGINE_UNIT_DELAY_MS"].flatMap { UInt32($0) } ?? 0)

    func perform(_ task: RunTask) throws {
        if unitDelay > 0 { usleep(unitDelay * 1000) }
        switch task {
        case .load: try performLoad()
        case .unit(let s, let b): try performUnit(segment: graph.segments[s], batch: b)
        case .barrier(let s): try performBarrier(segment: graph.segments[s])
        case .finalize(let s): try performFinalize(segment: graph.segments[s])
        case .roundPlan(let s, let r): try performRoundPlan(segment: graph.segments[s], round: r)
        case .roundUnit(let s, let r, let b): try performRoundUnit(segment: graph.segments[s], round: r, batch: b)
        }
    }

    func performLoad() throws {
        let stage = try plan.makeSource()
        let source = try stage.load(context: StageContext(runSeed: plan.seed, stageId: ResolvedPlan.sourceId, meta: DatasetMeta(name: plan.name, categories: []),
                                                          unitIndex: 0, outputDirectory: nil, computeThreads: options.threadsPerUnit,
                                                          workDirectory: directory.work(of: ResolvedPlan.sourceId), resources: options.resources,
                                                          isCancelled: options.isCancelled))
        // What a writer would refuse after every unit has run is refused now, before anything is committed.
        for note in try plan.checkSinks(source, outputDirectory: { self.directory.output(of: $0) }) { logger.notice("\(note)") }
        let size = plan.batchSize
        let batches = stride(from: 0, to: source.items.count, by: size).map { Array(source.items[$0..<min($0 + size, source.items.count)]) }
        for (index, batch) in batches.enumerated() {
            try checkpoints.save(UnitOutput(items: batch), stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName(index))
        }
        let summary = LoadSummary(meta: source.meta, batches: batches.count, items: source.items.count, issues: source.issues,
                                  dropped: source.dropped, imagesHash: Fingerprint.imagesHash(paths: stage.itemFiles(source.items)),
                                  positions: source.positions)
        try checkpoints.save(Fingerprint.fileSignatures(stage.itemFiles(source.items)), stage: ResolvedPlan.sourceId, unit: "images")
        try checkpoints.save(summary, stage: ResolvedPlan.sourceId, unit: "summary")
        stateLock.lock()
        loadSummary = summary
        stateLock.unlock()
        logger.info("loaded \(source.items.count) images in \(batches.count) batches; \(source.issues.count) input issues")
    }

    /// The items entering a segment's batch.
    func input(of segment: ExecutionGraph.Segment, batch: Int) throws -> UnitOutput {
        guard let input = segment.input else {
            return try checkpoints.load(UnitOutput.self, stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName(batch))
        }
        let source = graph.segments[input]
        let record = try checkpoints.load(UnitRecord.self, stage: source.tail, unit: Checkpoints.batchName(batch))
        return UnitOutput(items: record.outputs[source.tail]?.items ?? [])
    }

    func performUnit(segment: ExecutionGraph.Segment, batch: Int) throws {
        let input = try input(of: segment, batch: batch)
        let output = segment.isSink ? directory.output(of: segment.tail) : nil
        let record = try Self.runChain(Array(zip(segment.stageIds, segment.stages)), input: input) { id in
            self.context(stage: id, unit: batch, output: id == segment.tail ? output : nil)
        }
        try checkpoints.save(record, stage: segment.tail, unit: Checkpoints.batchName(batch))
    }

    /// Runs `stages` in order on one batch; a `FusedStage` runs fused with the stage before it (typed hand-over).
    /// The last stage's output keeps its items; the others keep only how many they passed on.
    static func runChain(_ stages: [(id: String, stage: any Stage)], input: UnitOutput,
                         context: (String) -> StageContext) throws -> UnitRecord {
        var record = UnitRecord(outputs: [:])
        var current = input
        var i = 0
        while i < stages.count {
            let (id, stage) = stages[i]
            let result: UnitOutput
            let resultId: String
            if i + 1 < stages.count, stages[i + 1].stage is any FusedStage {
                var first: UnitOutput
                (first, result) = try Fusion.run(producer: stage, consumer: stages[i + 1].stage, input: current,
                                                 producerContext: context(id), consumerContext: context(stages[i + 1].id))
                first.count(passedOnCounter, first.items.count)
                first.items = []
                record.outputs[id] = first
                resultId = stages[i + 1].id
                i += 2
            } else {
                result = try stage.process(current, context: context(id))
                resultId = id
                i += 1
            }
            var kept = result
            if i < stages.count {
                kept.count(passedOnCounter, kept.items.count)
                kept.items = []
            }
            record.outputs[resultId] = kept
            current = result
        }
        return record
    }

    /// The counter a fused intermediate stage's record keeps instead of its items (the report's "out" column).
    static let passedOnCounter = "items-passed-on"

    func outputs(of segment: ExecutionGraph.Segment) throws -> [UnitOutput] {
        if segment.isBarrier {
            let count = barrierBatches[segment.index] ?? 0
            return try (0..<count).map { try checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Checkpoints.batchName($0)).outputs[segment.tail] ?? UnitOutput() }
        }
        let count = batchCount(segment.index) ?? 0
        return try (0..<count).map { try checkpoints.load(UnitRecord.self, stage: segment.tail, unit: Checkpoints.batchName($0)).outputs[segment.tail] ?? UnitOutput() }
    }

    func sourceOutputs() throws -> [UnitOutput] {
        try (0..<(loadSummary?.batches ?? 0)).map { try checkpoints.load(UnitOutput.self, stage: ResolvedPlan.sourceId, unit: Checkpoints.batchName($0)) }
    }

    func performBarrier(segment: ExecutionGraph.Segment) throws {
        let planned: UnitOutput
        if segment.isRounds {
            planned = try roundsOutput(segment)
        } else {
            let inputs = try segment.input.map { try outputs(of: graph.segments[$0]) } ?? sourceOutputs()
            guard let barrier = segment.stages[0] as? any BarrierStage else { return }
            planned = try barrier.plan(inputs, context: context(stage: segment.head, unit: 0))
        }
        let size = plan.batchSize
        var summaryOnly = planned
        summaryOnly.items = []
        try checkpoints.save(UnitRecord(outputs: [segment.tail: summaryOnly]), stage: segment.tail, unit: "plan")
        let batches = stride(from: 0, to: planned.items.count, by: size).map { Array(planned.items[$0..<min($0 + size, planned.items.count)]) }
        for (index, items) in batches.enumerated() {
            try checkpoints.save(UnitRecord(outputs: [segment.tail: UnitOutput(items: items)]), stage: segment.tail, unit: Checkpoints.batchName(index))
        }
        try checkpoints.save(BarrierSummary(batches: batches.count, items: planned.items.count), stage: segment.tail, unit: "summary")
        stateLock.lock()
        barrierBatches[segment.index] = batches.count
        stateLock.unlock()
    }

    func performFinalize(segment: ExecutionGraph.Segment) throws {
        guard let sink = segment.stages.last as? any SinkStage else { return }
        let units = try outputs(of: segment)
        let reference = try sourceOutputs()
        var finalizing = context(stage: segment.tail, unit: 0, output: directory.output(of: segment.tail))
        if sink is any SplicingSink, let keys = spliceKeys(units: units, reference: reference) {
            finalizing.spliceDirectory = directory.splice(of: segment.tail)
            try keys.write(to: SpliceKeys.file(in: directory.splice(of: segment.tail)))
        }
        let summary = try sink.finalize(units, reference: reference, context: finalizing)
        try checkpoints.save(summary, stage: segment.tail, unit: "final")
    }
}

/// Where a run's pipeline file came from, so `resume` can notice edits to it.
struct RunOrigin: Codable {
    var pipelinePath: String
    /// The shard given on the command line (`--shard`), which overrides the file's.
    var shard: ShardSpec?
}

func encodeJSON<T: Encodable>(_ value: T) throws -> [UInt8] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return Array(try encoder.encode(value)) + [10]
}

func decodeJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T {
    guard let data = FileManager.default.contents(atPath: url.path) else {
        throw PipelineError(message: "\(url.path) is missing", hint: "the run directory is incomplete; start a new run")
    }
    return try JSONDecoder().decode(T.self, from: data)
}
