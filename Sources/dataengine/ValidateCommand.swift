import Adapter
import ArgumentParser
import Datasets
import Diffusion
import Foundation
import Support
import Imaging
import Pipeline
import Stages
import Tensors
import Evaluation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file and the data it names; print the resolved plan and what a run will cost. Runs nothing.",
        discussion: """
            Checks the YAML strictly (unknown keys, wrong types, missing values are errors with line and \
            column), builds the stage graph, reads the source annotations and checks that every image file \
            exists, then prints the plan with every default filled in and what the source holds.

            For a pipeline that generates, it loads the model and times one UNet call, one VAE encode and one \
            VAE decode at the pipeline's size on this machine, and prints the expected time per generated image \
            and for the whole run (an upper bound: before filtering). It warns when the last denoising step's \
            timestep lies outside the range the adapter was trained at. --preflight N runs the adapter in \
            detection-only mode on the first N reference images and prints its AP against their ground truth, \
            so a poor adapter shows before days are spent.

            Examples:
              dataengine validate pipelines/demo.yaml
              dataengine validate pipelines/coco-de.yaml --preflight 50
              dataengine validate pipelines/voc-de.yaml --no-estimate
            """)

    @Argument(help: "The pipeline file (YAML).")
    var pipeline: String

    @Flag(help: "Skip loading the model and timing it.")
    var noEstimate = false

    @Option(help: "Detection-only AP of the adapter on this many reference images (0: skip).")
    var preflight: Int = 0

    @Option(help: "Workers the run will use (for the estimate; default: the number of cores).")
    var workers: Int?

    func run() throws {
        let models = ModelCache()
        let file = try PipelineFile.load(path: pipeline, catalog: .builtIn)
        let plan = ResolvedPlan(file)
        _ = try ExecutionGraph(plan: plan)
        print("# Resolved plan (every default filled in)")
        print(try plan.yaml())
        guard let sourceConfig = plan.source as? SourceConfig else {
            throw PipelineError(message: "the source is not a COCO or VOC source", hint: "this is a bug in the stage catalog")
        }
        let source = try LoadStage.load(sourceConfig)
        let boxes = source.items.reduce(0) { $0 + $1.annotations.count }
        let captions = source.items.reduce(0) { $0 + $1.captions.count }
        print("# Source `\(sourceConfig.name)` (\(sourceConfig.format.rawValue))")
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
        try plan.checkDependenciesExist(file: pipeline)
        for note in try plan.checkSinks(source) { print("note: \(note)") }
        let generators = plan.stages.compactMap { stage in (stage.config as? GenerateConfig).map { (stage.id, $0) } }
        if !noEstimate {
            for (id, config) in generators { try estimate(id: id, config: config, references: source.items.count, plan: plan, models: models) }
        }
        if preflight > 0 { try runPreflight(plan: plan, source: source, models: models) }
        print("OK: \(pipeline) is valid")
    }

    func estimate(id: String, config: GenerateConfig, references: Int, plan: ResolvedPlan, models: ModelCache) throws {
        let cores = AvailableCPUs.current.count
        let workers = self.workers ?? cores
        let threads = ComputeBudget.threadsPerWorker(workers: workers, cores: cores)
        FileHandle.standardError.write(Data("timing one UNet call, one VAE encode and decode of \(config.model) at \(config.size)x\(config.size)...\n".utf8))
        // Models load once per process; each worker adds what one generation step holds (activations).
        _ = try models.pipeline(config.model, loras: config.lora, stage: "generate")
        let label = plan.stages.compactMap { $0.config as? LabelConfig }.first
        let adapterFolder = Self.labelAdapterFolder(plan: plan, model: config.model)
        let adapter = label?.mode != .results && FileManager.default.fileExists(atPath: adapterFolder) ? try models.adapter(adapterFolder, stage: "label") : nil
        let loaded = ProcessMemory.resident
        let e = try GenerationEstimate.measure(config, threads: threads, models: models)
        let peak = ProcessMemory.peakResident
        let images = references * config.variants
        let relabels = label?.mode == .finalLatent
        // An adapter that reads the VAE encoder encodes every generated image once more; final-latent labels cost
        // one more UNet call.
        let perImage = e.secondsPerImage + (adapter?.config.readsVAEEncoder == true ? e.klEncodeSeconds : 0) + (relabels ? e.unetSeconds : 0)
        let wall = perImage * Double(images) / Double(max(1, workers))
        print("# Cost of stage `\(id)` on this machine (\(AvailableCPUs.current), \(workers) workers x \(threads) threads)")
        print(String(format: "UNet call %.2f s, VAE encode (\(config.vae.encode.rawValue)) %.2f s, decode (\(config.vae.decode.rawValue)) %.2f s; %.0f denoising steps on average",
                     e.unetSeconds, e.encodeSeconds, e.decodeSeconds, e.meanSteps))
        if let shallow = e.shallowUNetSeconds {
            print(String(format: "deep_cache interval \(e.deepCacheInterval): shallow UNet call %.2f s between full calls, %.2f s per step on average", shallow, e.secondsPerStep))
        }
        print(String(format: "per generated image: about %.1f s of one worker", perImage))
        print("at most \(images) images (\(references) references x \(config.variants) variants, before filtering): about "
              + GenerationEstimate.duration(wall) + String(format: " here, %.1f CPU-hours", perImage * Double(threads) * Double(images) / 3600))
        if let loaded, let peak {
            let perWorker = max(0, peak - loaded)
            let total = loaded + perWorker * workers
            print("memory: about \(ProcessMemory.format(loaded)) for the process with its models, plus \(ProcessMemory.format(perWorker)) per worker: "
                  + "\(ProcessMemory.format(total)) for \(workers) worker\(workers == 1 ? "" : "s") (Slurm --mem, a pod's memory request; add room for the source's annotations)")
        }
        if wall > 7 * 86400 {
            print("that is more than a week on one machine: run it as n shards on a cluster (`run --shard auto --run-root DIR` as a "
                  + "Slurm array or a Kubernetes Indexed Job, then `dataengine merge`; deploy/ and docs/scale-out.md)")
        }
        let timesteps = try GenerationEstimate.lastTimesteps(config, models: models)
        if let warning = GenerationEstimate.fewStepGuidanceWarning(config) { print("warning: \(warning)") }
        if let label, label.mode == .results, let results = label.results {
            let ready = FileManager.default.fileExists(atPath: results)
            print("labels (mode results): boxes from your detector's COCO results in \(results) (\(ready ? "present" : "not there yet")); "
                  + "no adapter runs. " + (ready ? "The run reads it once every image is generated."
                                                 : "The run stops after generate, lists the images in RUNDIR/work/<label stage>/\(ResultsLabelStage.listingName); write the file, then `dataengine resume RUNDIR`."))
        } else if let adapter, let label, relabels {
            let t = label.timestep ?? adapter.config.timestepRange.lowerBound
            print(String(format: "labels (mode final-latent): the final latent noised again to t = \(t), one more UNet call (%.2f s, counted above) per image; "
                         + "the adapter was trained at t in \(adapter.config.timestepRange.lowerBound)...\(adapter.config.timestepRange.upperBound)", e.unetSeconds))
            if let warning = adapter.timestepWarning(Float(t)) { print("warning: \(warning)") }
            if adapter.config.readsVAEEncoder {
                throw PipelineError(message: "the adapter \(Self.labelAdapterFolder(plan: plan, model: config.model)) reads the VAE encoder (vae_encoder_taps), which `mode: final-latent` does not run",
                                    hint: "use an adapter without vae_encoder_taps, or `mode: taps`")
            }
        } else if let adapter {
            print("labels come from the last step at t = \(Set(timesteps).sorted().map(String.init).joined(separator: " ... ")); the adapter was trained at t in \(adapter.config.timestepRange.lowerBound)...\(adapter.config.timestepRange.upperBound)")
            for t in Set(timesteps).sorted() {
                if let warning = adapter.timestepWarning(Float(t)) { print("warning: \(warning)") }
            }
            if adapter.config.readsVAEEncoder {
                print(String(format: "the adapter also reads the VAE encoder of each generated image: one more KL VAE encode (%.2f s, counted above) per image", e.klEncodeSeconds))
            }
        }
    }

    /// The adapter that labels generated images: the label stage's `adapter`, else the model's `adapter/`.
    static func labelAdapterFolder(plan: ResolvedPlan, model: String) -> String {
        plan.stages.compactMap { ($0.config as? LabelConfig)?.adapter }.first ?? model + "/adapter"
    }

    func runPreflight(plan: ResolvedPlan, source: SourceOutput, models: ModelCache) throws {
        let folder = plan.stages.compactMap { ($0.config as? AttributesConfig)?.model ?? ($0.config as? GenerateConfig)?.model }.first
        guard let folder else { throw ValidationError("--preflight needs a stage with a model (attributes or generate)") }
        ComputeBudget.apply(threadsPerWorker: AvailableCPUs.current.count)
        let detector = try DetectionOnlyDetector(pipeline: try models.pipeline(folder, stage: "preflight"),
                                                 adapter: try models.adapter(Self.labelAdapterFolder(plan: plan, model: folder),
                                                                                        stage: "preflight"))
        let items = Array(source.items.prefix(preflight))
        var detections: [COCODetection] = []
        let start = Date()
        for (i, item) in items.enumerated() {
            let image = try JPEG.decodeFile(atPath: item.sourcePath).image
            let noise = DiffusionNoise(seed: DetectionOnlyDetector.noiseSeed(runSeed: plan.seed, imageId: item.image.id))
            for d in try detector.detect(image, noise: noise) {
                detections.append(COCODetection(imageId: item.image.id, categoryId: d.categoryId,
                                                bbox: BoundingBox(x: Double(d.x0), y: Double(d.y0), width: Double(d.width), height: Double(d.height)),
                                                score: Double(d.score)))
            }
            let elapsed = Date().timeIntervalSince(start)
            FileHandle.standardError.write(Data(String(format: "preflight %d/%d images, ETA %.0f s\n", i + 1, items.count,
                                                        elapsed / Double(i + 1) * Double(items.count - i - 1)).utf8))
        }
        let gt = DetectionDataset(images: items.map(\.image), annotations: items.flatMap(\.annotations), categories: source.meta.categories)
        let summary = COCOEvalSummary(COCOEvaluator.evaluate(groundTruth: gt, detections: detections), categories: source.meta.categories)
        print("# Preflight: the adapter in detection-only mode on \(items.count) reference images (t = \(detector.timestep))")
        for line in summary.lines.prefix(3) { print(line) }
        let ap50 = summary.stats[1].value
        if ap50 < 0.3 {
            print("warning: AP50 \(String(format: "%.3f", ap50)) is low: labels of generated images will be poor; train the adapter longer or on this data (tools/train_adapter.py, docs/adapter.md)")
        }
    }
}
