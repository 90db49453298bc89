import Foundation
import XCTest
import Datasets
#if canImport(Glibc)
import Glibc
import Support
#endif

/// The generation stages end to end on a tiny model (the sd2-like parity model with a random adapter): attributes,
/// generate + label (fused), confidence, COCO-DE and VOC-DE writers. Same bytes for 1 and 2 workers and after
/// SIGKILL + resume; provenance, scores and attributes in the output.
final class GenerationPipelineTests: XCTestCase {
    var temp: URL!
    var pipeline: URL!
    var model: URL { temp.appendingPathComponent("model") }

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString)")
        try CLIHarness.makeTinyModel(at: model)
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo").path
        pipeline = temp.appendingPathComponent("tiny-de.yaml")
        try """
            seed: 5
            batch_size: 1
            source:
              format: coco
              instances: \(demo)/coco/annotations/instances_train.json
              captions: \(demo)/coco/annotations/captions_train.json
              images: \(demo)/coco/train
              limit: 3
            stages:
              - kind: filter
                min_object_area: 0.02
              - kind: attributes
                model: model
              - kind: generate
                model: model
                variants: 1
                encode_ratio: [0.5, 1.0]
                steps: 4
                size: 32
              - kind: label
              - kind: confidence
                threshold: 0.2
              - id: coco
                kind: write
              - id: voc
                kind: write
                input: confidence
                format: voc
            """.write(to: pipeline, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: temp) }

    func outputs(_ run: String) -> [String: Data] {
        CLIHarness.files(under: temp.appendingPathComponent(run).appendingPathComponent("output"))
    }

    func run(_ name: String, workers: Int) throws -> [String: Data] {
        let result = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent(name).path, "--workers", "\(workers)"])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        XCTAssertTrue(result.stdout.contains("per generated image"), result.stdout)
        return outputs(name)
    }

    func testOneAndTwoWorkersWriteTheSameLabelledDataset() throws {
        let one = try run("one", workers: 1)
        XCTAssertEqual(try run("two", workers: 2), one)
        for file in ["coco/annotations/instances_coco.json", "coco/annotations/reference_boxes_coco.json", "coco/preview.jpg",
                     "coco/stats.md", "voc/VOCdevkit/VOC2007/ImageSets/Main/trainval.txt"] {
            XCTAssertNotNil(one[file], "\(file) missing; got \(one.keys.sorted())")
        }
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: one["coco/annotations/instances_coco.json"]!) as? [String: Any])
        let images = json["images"] as! [[String: Any]]
        let annotations = json["annotations"] as! [[String: Any]]
        XCTAssertFalse(images.isEmpty)
        for image in images {
            let id = image["id"] as! Int
            let reference = image["reference_image_id"] as! Int
            XCTAssertEqual(id, 1_000_000_000_000 + reference * 1000, "variant 0 of its reference")
            XCTAssertEqual(image["width"] as? Int, 32)
            XCTAssertEqual(image["scheduler"] as? String, "dpm-solver++")
            XCTAssertEqual(image["steps"] as? Int, 4)
            let ratio = image["encode_ratio"] as! Double
            XCTAssertTrue((0.5...1.0).contains(ratio), "\(ratio)")
            XCTAssertFalse((image["prompt"] as! String).isEmpty)
            XCTAssertNotNil(image["tap_timestep"])
            XCTAssertTrue((image["file_name"] as! String).hasSuffix("_v000.jpg"))
        }
        XCTAssertFalse(annotations.isEmpty, "a random adapter labels something above 0.2")
        for a in annotations {
            XCTAssertGreaterThanOrEqual(a["score"] as! Double, 0.2)
            XCTAssertTrue(["easy", "hard", "unknown"].contains(a["attribute"] as! String))
        }
        // Reference boxes carry the source's (mask) areas scaled into the crop, not their box areas (issue 19 item 15).
        let referenceBoxes = try XCTUnwrap(JSONSerialization.jsonObject(with: one["coco/annotations/reference_boxes_coco.json"]!) as? [String: Any])
        let boxes = try XCTUnwrap(referenceBoxes["annotations"] as? [[String: Any]])
        XCTAssertFalse(boxes.isEmpty)
        XCTAssertTrue(boxes.contains { a in
            let b = (a["bbox"] as? [NSNumber] ?? []).map(\.doubleValue)
            return b.count == 4 && ((a["area"] as? NSNumber)?.doubleValue ?? .infinity) < 0.9 * b[2] * b[3]
        }, "the demo's circles cover about half their box")
        let voc = String(decoding: one.first { $0.key.hasPrefix("voc/VOCdevkit/VOC2007/Annotations/") }!.value, as: UTF8.self)
        XCTAssertTrue(voc.contains("<score>") && voc.contains("<attribute>"), voc)
    }

    /// An adapter with `vae_encoder_taps` reads the VAE encoder of each generated image (label) and of each
    /// reference (attributes); its labels are its own, and the same for any worker count.
    func testAnAdapterThatReadsTheVAEEncoderLabelsGeneratedImages() throws {
        let unetOnly = try run("unet-only", workers: 1)
        let adapter = model.appendingPathComponent("adapter")
        try FileManager.default.removeItem(at: adapter)
        try FileManager.default.copyItem(at: CLIHarness.repositoryRoot.appendingPathComponent("Tests/AdapterTests/Fixtures/detect-sd2-like-vae/adapter"),
                                         to: adapter)
        let one = try run("vae-one", workers: 1)
        XCTAssertEqual(try run("vae-two", workers: 2), one)
        let file = "coco/annotations/instances_coco.json"
        XCTAssertNotEqual(one[file], unetOnly[file], "another adapter, other labels")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: one[file]!) as? [String: Any])
        XCTAssertFalse((json["annotations"] as! [[String: Any]]).isEmpty, "a random adapter labels something above 0.2")
    }

    func testSIGKILLThenResumeGivesTheSameBytes() throws {
        let expected = try run("reference", workers: 1)
        var rng = SeededRandom(seed: 77)
        var killedMidRun = 0
        for attempt in 0..<2 {
            let dir = temp.appendingPathComponent("killed-\(attempt)").path
            let (finish, killed) = try CLIHarness.runKilling(pipeline: pipeline.path, dir: dir, kills: 3, random: &rng, unitDelayMs: 120,
                                                             minDelay: 50_000, spread: 600_000, resumeWorkers: 1 + attempt % 2)
            killedMidRun += killed
            XCTAssertEqual(finish.status, 0, finish.stderr)
            let got = outputs("killed-\(attempt)")
            XCTAssertEqual(Set(got.keys), Set(expected.keys), "attempt \(attempt): files differ")
            for (path, bytes) in expected where got[path] != bytes { XCTFail("attempt \(attempt): \(path) differs after kill and resume") }
        }
        XCTAssertGreaterThanOrEqual(killedMidRun, 3, "most kills must land while the run is in progress, or the test proves nothing")
    }

    /// The pipeline with a quota stage whose minimum is never met: rounds until max_variants_per_image.
    func useQuotaPipeline() throws {
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: """
              - id: coco
                kind: write
            """, with: """
              - kind: quota
                min_instances_per_category: 100000
                max_variants_per_image: 3
              - id: coco
                kind: write
            """).replacingOccurrences(of: "input: confidence", with: "input: quota")
        pipeline = temp.appendingPathComponent("quota.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
    }

    func testARunMovedToAnotherFolderResumesToTheSameBytes() throws {
        let expected = try run("reference", workers: 1)
        let before = temp.appendingPathComponent("before-move").path
        let (process, _, _) = try CLIHarness.start(["run", pipeline.path, "--run-dir", before, "--workers", "1"],
                                                   environment: ["DATAENGINE_UNIT_DELAY_MS": "150"])
        // Kill once generated images are committed in work/ and recorded in checkpoints.
        let deadline = Date().addingTimeInterval(120)
        func committedGenerations() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: before + "/checkpoints/label")) ?? []).filter { $0.hasPrefix("batch-") }.count
        }
        while committedGenerations() < 1, process.isRunning, Date() < deadline { usleep(5_000) }
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let moved = temp.appendingPathComponent("moved/elsewhere")
        try FileManager.default.createDirectory(at: moved.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: before, toPath: moved.path)
        let finish = try CLIHarness.run(["resume", moved.path])
        XCTAssertEqual(finish.status, 0, finish.stderr)
        let got = CLIHarness.files(under: moved.appendingPathComponent("output"))
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (path, bytes) in expected where got[path] != bytes { XCTFail("\(path) differs after moving the run directory (preview.jpg: blank tiles?)") }
    }

    func testQuotaRoundsAddVariantsForCategoriesBelowTheMinimum() throws {
        try useQuotaPipeline()
        let one = try run("quota-one", workers: 1)
        XCTAssertEqual(try run("quota-two", workers: 2), one, "quota rounds are deterministic")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: one["coco/annotations/instances_coco.json"]!) as? [String: Any])
        let variants = (json["images"] as! [[String: Any]]).map { $0["variant"] as! Int }
        XCTAssertEqual(Set(variants), [0, 1, 2], "two rounds after the planned variant 0, up to max_variants_per_image")
        let report = try String(contentsOf: temp.appendingPathComponent("quota-one/report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("quota-rounds"), report)
        // Rounds are ordinary units: a plan and one checkpoint per batch (batch_size 1: one per reference), stable names.
        let checkpoints = temp.appendingPathComponent("quota-two/checkpoints/quota").path
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: checkpoints))
        for name in ["round-001-plan", "round-001-batch-00000", "round-002-plan", "round-002-batch-00000", "round-003-plan"] {
            XCTAssertTrue(names.contains(name + ".json.zst"), "\(name) in \(names.sorted())")
        }
    }


    func testAKillDuringAQuotaRoundResumesToTheSameBytes() throws {
        try useQuotaPipeline()
        let expected = try run("quota-reference", workers: 1)
        let dir = temp.appendingPathComponent("quota-killed").path
        let (process, _, _) = try CLIHarness.start(["run", pipeline.path, "--run-dir", dir, "--workers", "2"],
                                                   environment: ["DATAENGINE_UNIT_DELAY_MS": "150"])
        let firstRound = dir + "/checkpoints/quota/round-001-plan.json.zst"
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: firstRound), process.isRunning, Date() < deadline { usleep(5_000) }
        XCTAssertTrue(process.isRunning, "the run ended before a quota round could be interrupted")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/checkpoints/quota/summary.json.zst"), "killed inside the rounds")
        let finish = try CLIHarness.run(["resume", dir, "--workers", "2"])
        XCTAssertEqual(finish.status, 0, finish.stderr)
        let got = outputs("quota-killed")
        XCTAssertEqual(Set(got.keys), Set(expected.keys))
        for (path, bytes) in expected where got[path] != bytes { XCTFail("\(path) differs after a kill in a quota round and resume") }
    }
    func testQuotaNamesAMissingStage() throws {
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: "  - kind: confidence\n    threshold: 0.2\n", with: "  - kind: quota\n    min_instances_per_category: 5\n")
        let bad = temp.appendingPathComponent("badquota.yaml")
        try text.write(to: bad, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["validate", bad.path, "--no-estimate"])
        XCTAssertEqual(result.status, 2, result.stderr)
        XCTAssertTrue(result.stderr.contains("confidence"), result.stderr)

        let results = try String(contentsOf: pipeline, encoding: .utf8)
            .replacingOccurrences(of: "  - kind: label\n", with: "  - kind: label\n    mode: results\n    results: dets.json\n")
            .replacingOccurrences(of: "    threshold: 0.2\n", with: "    threshold: 0.2\n  - kind: quota\n    min_instances_per_category: 5\n")
        let withResults = temp.appendingPathComponent("resultsquota.yaml")
        try results.write(to: withResults, atomically: true, encoding: .utf8)
        let refused = try CLIHarness.run(["validate", withResults.path, "--no-estimate"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("a quota needs labels made during the run"), refused.stderr)
    }

    func testIncludeReferencesWritesOneRealPlusDEDataset() throws {
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: """
              - id: coco
                kind: write
            """, with: """
              - id: coco
                kind: write
                include_references: true
            """)
        pipeline = temp.appendingPathComponent("with-references.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        let files = try run("refs", workers: 2)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: files["coco/annotations/instances_coco.json"]!) as? [String: Any])
        let images = json["images"] as! [[String: Any]]
        let references = images.filter { $0["reference_image_id"] == nil }
        let generated = images.filter { $0["reference_image_id"] != nil }
        XCTAssertEqual(Set(references.map { $0["id"] as! Int }), Set(generated.map { $0["reference_image_id"] as! Int }))
        XCTAssertTrue(references.allSatisfy { ($0["file_name"] as! String).hasPrefix("references/") && $0["width"] as? Int == 128 })
        for r in references { XCTAssertNotNil(files["coco/images/" + (r["file_name"] as! String)]) }
        let referenceBoxes = (json["annotations"] as! [[String: Any]]).filter { a in references.contains { $0["id"] as! Int == a["image_id"] as! Int } }
        XCTAssertTrue(referenceBoxes.allSatisfy { $0["score"] == nil && ["easy", "hard"].contains($0["attribute"] as! String) }, "real boxes with attributes")
    }

    func testACorruptReferenceIsSkippedAndCounted() throws {
        let demo = CLIHarness.repositoryRoot.appendingPathComponent("data/demo/coco/train")
        let images = temp.appendingPathComponent("images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: demo.path) {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(name), to: images.appendingPathComponent(name))
        }
        var corrupt = try Data(contentsOf: images.appendingPathComponent("000000000001.jpg"))
        corrupt = corrupt.prefix(300) + Data(repeating: 0x55, count: 200)
        try corrupt.write(to: images.appendingPathComponent("000000000001.jpg"))
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: demo.path, with: images.path)
        pipeline = temp.appendingPathComponent("corrupt.yaml")
        try text.write(to: pipeline, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["run", pipeline.path, "--run-dir", temp.appendingPathComponent("corrupt").path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("corrupt-image"), result.stdout)
        let report = try String(contentsOf: temp.appendingPathComponent("corrupt/report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("000000000001.jpg"), report)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: temp.appendingPathComponent("corrupt/output/coco/annotations/instances_coco.json"))) as? [String: Any])
        XCTAssertFalse((json["images"] as! [[String: Any]]).contains { $0["reference_image_id"] as? Int == 1 })
        XCTAssertFalse((json["images"] as! [[String: Any]]).isEmpty, "the other references still made it")
    }

    func testResumeRefusesChangedModelWeights() throws {
        let dir = temp.appendingPathComponent("changed").path
        let (process, _, _) = try CLIHarness.start(["run", pipeline.path, "--run-dir", dir, "--workers", "1"],
                                                   environment: ["DATAENGINE_UNIT_DELAY_MS": "400"])
        usleep(300_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let config = model.appendingPathComponent("adapter/config.json")
        try (try String(contentsOf: config, encoding: .utf8) + "\n").write(to: config, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["resume", dir])
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("model weights") && result.stderr.contains(model.path), result.stderr)
    }

    func testValidateNamesAMissingModel() throws {
        let text = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: "model: model", with: "model: nowhere")
        let bad = temp.appendingPathComponent("bad.yaml")
        try text.write(to: bad, atomically: true, encoding: .utf8)
        let result = try CLIHarness.run(["run", bad.path, "--run-dir", temp.appendingPathComponent("bad").path])
        XCTAssertEqual(result.status, 2, "refused before anything runs: \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("nowhere") && result.stderr.contains("does not exist"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: temp.appendingPathComponent("bad").path), "no run directory is made")
        let validate = try CLIHarness.run(["validate", bad.path, "--no-estimate"])
        XCTAssertEqual(validate.status, 2, validate.stderr)
        XCTAssertTrue(validate.stderr.contains("nowhere") && !validate.stderr.contains("Usage:"), "no usage block for a missing model: \(validate.stderr)")
    }

    /// `scheduler: euler` with a TAESD end to end: a few-step run (2 steps at ratio 0.5, guidance 0, `vae: tiny`)
    /// writes its dataset with the scheduler in each image's provenance, and validate warns when guidance is on
    /// with so few steps.
    func testAFewStepEulerPipelineRunsAndValidateWarnsAboutGuidance() throws {
        let base = try String(contentsOf: pipeline, encoding: .utf8)
        func variant(_ name: String, guidance: String) throws -> URL {
            let taesd = CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/taesd/factor4").path
            let text = base.replacingOccurrences(of: "encode_ratio: [0.5, 1.0]\n    steps: 4",
                                                 with: "encode_ratio: 0.5\n    steps: 2\n    scheduler: euler\n    guidance: \(guidance)\n"
                                                    + "    vae: {encode: tiny, decode: tiny, tiny: \(taesd)}")
            XCTAssertNotEqual(text, base, "the pipeline text changed")
            let url = temp.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let fewStep = try variant("euler.yaml", guidance: "0")
        let result = try CLIHarness.run(["run", fewStep.path, "--run-dir", temp.appendingPathComponent("euler").path])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        XCTAssertFalse(result.stdout.contains("few-step models"), result.stdout)
        let file = temp.appendingPathComponent("euler/output/coco/annotations/instances_coco.json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
        let images = try XCTUnwrap(json["images"] as? [[String: Any]])
        XCTAssertFalse(images.isEmpty)
        for image in images {
            XCTAssertEqual(image["scheduler"] as? String, "euler", "\(image)")
            XCTAssertEqual(image["steps"] as? Int, 2, "\(image)")
            // The fixture's config: leading spacing with steps_offset 1, so 2 steps are 501 and 1; ratio 0.5 keeps the last.
            XCTAssertEqual(image["tap_timestep"] as? Int, 1, "\(image)")
        }
        let guided = try CLIHarness.run(["validate", try variant("guided.yaml", guidance: "7.5").path])
        XCTAssertEqual(guided.status, 0, guided.stderr)
        XCTAssertTrue(guided.stdout.contains("few-step models such as SD-Turbo are run at guidance 0"), guided.stdout)
        XCTAssertTrue(guided.stdout.contains("VAE encode (tiny)") && guided.stdout.contains("decode (tiny)"), "the estimate times TAESD: \(guided.stdout)")
    }

    /// `label: {mode: final-latent}`: the adapter reads one more UNet call on the final latent noised to its own
    /// timestep (the lower end of its range, 1 for the tiny adapter; or the stage's `timestep`), recorded as the
    /// image's tap timestep; other labels than the last step's taps. An adapter with `vae_encoder_taps` is refused
    /// by validate and by the run, naming the mode.
    func testFinalLatentLabelsReadTheFinalLatentAtTheAdaptersTimestep() throws {
        let base = try String(contentsOf: pipeline, encoding: .utf8)
        func variant(_ name: String, label: String) throws -> URL {
            let text = base.replacingOccurrences(of: "  - kind: label\n", with: label)
            XCTAssertNotEqual(text, base)
            let url = temp.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let taps = try run("taps", workers: 1)
        let relabel = try variant("final.yaml", label: "  - kind: label\n    mode: final-latent\n    timestep: 20\n")
        let result = try CLIHarness.run(["run", relabel.path, "--run-dir", temp.appendingPathComponent("final").path])
        XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        let file = "coco/annotations/instances_coco.json"
        let final = outputs("final")
        XCTAssertNotEqual(final[file], taps[file], "other features, other labels")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: try XCTUnwrap(final[file])) as? [String: Any])
        let images = try XCTUnwrap(json["images"] as? [[String: Any]])
        XCTAssertFalse(images.isEmpty)
        for image in images { XCTAssertEqual(image["tap_timestep"] as? Int, 20, "\(image)") }
        let validate = try CLIHarness.run(["validate", relabel.path])
        XCTAssertEqual(validate.status, 0, validate.stderr)
        XCTAssertTrue(validate.stdout.contains("labels (mode final-latent): the final latent noised again to t = 20"), validate.stdout)

        let adapter = model.appendingPathComponent("adapter")
        try FileManager.default.removeItem(at: adapter)
        try FileManager.default.copyItem(at: CLIHarness.repositoryRoot.appendingPathComponent("Tests/AdapterTests/Fixtures/detect-sd2-like-vae/adapter"),
                                         to: adapter)
        let refused = try CLIHarness.run(["validate", relabel.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("vae_encoder_taps") && refused.stderr.contains("final-latent") && !refused.stderr.contains("Usage"),
                      refused.stderr)
        let run = try CLIHarness.run(["run", relabel.path, "--run-dir", temp.appendingPathComponent("refused").path])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue((run.stderr + run.stdout).contains("final-latent"), run.stderr + run.stdout)
    }

    /// `label: {mode: results}` (issue 17): the run stops after generate with the images listed (a COCO file
    /// `dataengine detect --gt` reads), the user's detector writes COCO results, and `resume` labels the images
    /// with exactly those boxes and scores. The adapter's threshold and a quota are refused with this mode.
    func testResultsLabelsStopAfterGenerateAndResumeFromTheDetectorsFile() throws {
        let base = try String(contentsOf: pipeline, encoding: .utf8)
        let results = temp.appendingPathComponent("dets.json")
        let text = base.replacingOccurrences(of: "  - kind: label\n", with: "  - kind: label\n    mode: results\n    results: dets.json\n")
        XCTAssertNotEqual(text, base)
        let file = temp.appendingPathComponent("results.yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        let validate = try CLIHarness.run(["validate", file.path])
        XCTAssertEqual(validate.status, 0, validate.stderr)
        XCTAssertTrue(validate.stdout.contains("labels (mode results)") && validate.stdout.contains("not there yet"), validate.stdout)

        let dir = temp.appendingPathComponent("results-run")
        let waiting = try CLIHarness.run(["run", file.path, "--run-dir", dir.path])
        XCTAssertEqual(waiting.status, 1, waiting.stderr)
        XCTAssertTrue(waiting.stderr.contains("waiting for your detector's boxes") && waiting.stderr.contains("dataengine resume"), waiting.stderr)
        let listing = dir.appendingPathComponent("work/label/generated_images.json")
        let listed = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: listing)) as? [String: Any])
        let images = try XCTUnwrap(listed["images"] as? [[String: Any]])
        XCTAssertFalse(images.isEmpty)
        XCTAssertEqual((listed["categories"] as? [[String: Any]])?.count, 5)
        XCTAssertTrue((listed["annotations"] as? [Any] ?? []).isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("output/coco/annotations/instances_coco.json").path))

        let detect = try CLIHarness.run(["detect", "--model", model.path, "--gt", listing.path, "--images", dir.appendingPathComponent("work/generate").path,
                                         "--out", results.path])
        XCTAssertEqual(detect.status, 0, detect.stderr)
        // One more detection, of an image this run does not hold (another shard's): counted and left out.
        var withOther = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: results)) as? [[String: Any]])
        withOther.append(["image_id": 999_999, "category_id": 1, "bbox": [1, 1, 5, 5], "score": 0.9])
        try JSONSerialization.data(withJSONObject: withOther).write(to: results)
        let resumed = try CLIHarness.run(["resume", dir.path])
        XCTAssertEqual(resumed.status, 0, resumed.stderr + resumed.stdout)
        let detections = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: results)) as? [[String: Any]]).filter { $0["image_id"] as? Int != 999_999 }
        XCTAssertTrue(try String(contentsOf: dir.appendingPathComponent("report.md"), encoding: .utf8).contains("results-of-other-images: 1"))
        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("output/coco/annotations/instances_coco.json"))) as? [String: Any])
        let annotations = try XCTUnwrap(written["annotations"] as? [[String: Any]])
        let kept = detections.filter { d in
            let b = (d["bbox"] as! [NSNumber]).map(\.doubleValue)
            return (d["score"] as! Double) >= 0.2 && b[2] > 0 && b[3] > 0
        }
        XCTAssertFalse(kept.isEmpty)
        XCTAssertEqual(annotations.count, kept.count, "every detection with an area at or above δ, no other box")
        for a in annotations {
            let bbox = (a["bbox"] as! [NSNumber]).map(\.doubleValue)
            XCTAssertTrue(detections.contains { d in
                d["image_id"] as? Int == a["image_id"] as? Int && d["category_id"] as? Int == a["category_id"] as? Int
                    && d["score"] as? Double == a["score"] as? Double
                    && zip((d["bbox"] as! [NSNumber]).map(\.doubleValue), bbox).allSatisfy { abs($0 - $1) < 1e-6 }
            }, "\(a) is one of the detector's boxes")
        }

        let adapterThreshold = temp.appendingPathComponent("adapter-threshold.yaml")
        try text.replacingOccurrences(of: "threshold: 0.2", with: "threshold: adapter").write(to: adapterThreshold, atomically: true, encoding: .utf8)
        let refused = try CLIHarness.run(["validate", adapterThreshold.path])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("your detector's score scale"), refused.stderr)
        let noFile = temp.appendingPathComponent("no-file.yaml")
        try base.replacingOccurrences(of: "  - kind: label\n", with: "  - kind: label\n    mode: results\n").write(to: noFile, atomically: true, encoding: .utf8)
        let missing = try CLIHarness.run(["validate", noFile.path])
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("`mode: results` needs `results: FILE`"), missing.stderr)
    }

    /// `deep_cache: {interval}` (DeepCache) changes the generated images, is recorded in the plan, and an interval
    /// below 2 is refused with what the key means.
    func testDeepCacheChangesTheImagesAndRefusesAnIntervalBelowTwo() throws {
        let base = try String(contentsOf: pipeline, encoding: .utf8).replacingOccurrences(of: "    steps: 4\n", with: "    steps: 8\n")
        let plain = temp.appendingPathComponent("plain.yaml"), cached = temp.appendingPathComponent("cached.yaml")
        try base.write(to: plain, atomically: true, encoding: .utf8)
        try base.replacingOccurrences(of: "    steps: 8\n", with: "    steps: 8\n    deep_cache: {interval: 2}\n").write(to: cached, atomically: true, encoding: .utf8)
        for (file, dir) in [(plain, "plain"), (cached, "cached")] {
            let result = try CLIHarness.run(["run", file.path, "--run-dir", temp.appendingPathComponent(dir).path])
            XCTAssertEqual(result.status, 0, result.stderr + result.stdout)
        }
        let (a, b) = (outputs("plain"), outputs("cached"))
        let images = a.keys.filter { $0.hasPrefix("coco/images/") }
        XCTAssertFalse(images.isEmpty)
        XCTAssertTrue(images.contains { a[$0] != b[$0] }, "shallow steps give other images")
        let plan = try String(contentsOf: temp.appendingPathComponent("cached/plan.json"), encoding: .utf8)
        XCTAssertTrue(plan.contains("deep_cache"), plan)
        XCTAssertFalse(try String(contentsOf: temp.appendingPathComponent("plain/plan.json"), encoding: .utf8).contains("deep_cache"),
                       "off leaves the plan as it was")
        let estimate = try CLIHarness.run(["validate", cached.path])
        XCTAssertEqual(estimate.status, 0, estimate.stderr)
        XCTAssertTrue(estimate.stdout.contains("deep_cache interval 2: shallow UNet call"), estimate.stdout)
        let bad = temp.appendingPathComponent("bad.yaml")
        try base.replacingOccurrences(of: "    steps: 8\n", with: "    steps: 8\n    deep_cache: {interval: 1}\n").write(to: bad, atomically: true, encoding: .utf8)
        let refused = try CLIHarness.run(["validate", bad.path, "--no-estimate"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("interval is 2...1000"), refused.stderr)
    }

    /// `lora: [{path, scale}]` fuses a LoRA into the model: other images; a LoRA for another model is refused by
    /// validate, naming the layer that matches nothing.
    func testALoRAChangesTheImagesAndOneForAnotherModelIsRefused() throws {
        let base = try String(contentsOf: pipeline, encoding: .utf8)
        let lora = CLIHarness.repositoryRoot.appendingPathComponent("Tests/DiffusionTests/Fixtures/lora/kohya.safetensors").path
        func variant(_ name: String, lora path: String) throws -> URL {
            let text = base.replacingOccurrences(of: "    steps: 4\n", with: "    steps: 4\n    lora: [{path: \(path), scale: 0.8}]\n")
            XCTAssertNotEqual(text, base)
            let url = temp.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            return url
        }
        let plain = try run("plain", workers: 1)
        let fused = try CLIHarness.run(["run", try variant("lora.yaml", lora: lora).path, "--run-dir", temp.appendingPathComponent("lora").path])
        XCTAssertEqual(fused.status, 0, fused.stderr + fused.stdout)
        let images = { (files: [String: Data]) in files.filter { $0.key.hasSuffix(".jpg") && $0.key.contains("images/shard") } }
        XCTAssertFalse(images(plain).isEmpty)
        XCTAssertNotEqual(images(outputs("lora")), images(plain), "a fused LoRA gives other images")

        // A kohya LoRA of one layer the tiny model does not have (two float32 zeros per factor), written by hand.
        let odd = temp.appendingPathComponent("lora-for-another-model.safetensors")
        let layer = "lora_unet_down_blocks_7_attentions_0_proj_in"
        let header = #"{"\#(layer).lora_down.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"\#(layer).lora_up.weight":{"dtype":"F32","shape":[2,1],"data_offsets":[8,16]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) }
        bytes += Array(header.utf8) + [UInt8](repeating: 0, count: 16)
        try Data(bytes).write(to: odd)
        let refused = try CLIHarness.run(["validate", try variant("odd.yaml", lora: odd.path).path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("down_blocks_7_attentions_0_proj_in") && refused.stderr.contains("matches no layer"), refused.stderr + refused.stdout)
    }
}
