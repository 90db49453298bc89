import XCTest
import Datasets
import Imaging
@testable import Pipeline
@testable import Stages
import Support

/// The generation stages' pieces that need no model: config decoding, the crop, prompts, ids, the δ filter,
/// attributes from a results file, and attribute inheritance.
final class GenerationStagesTests: XCTestCase {
    let base = """
        source:
          format: coco
          instances: data/instances.json
          images: data/images
        stages:

        """

    func parse(_ stages: String) throws -> PipelineFile {
        try PipelineFile.parse(base + stages, file: "/tmp/p/test.yaml", defaultName: "test", catalog: .builtIn)
    }

    func context(_ stage: String = "generate", seed: UInt64 = 3) -> StageContext {
        StageContext(runSeed: seed, stageId: stage, meta: DatasetMeta(name: "t", categories: [Category(id: 1, name: "circle"), Category(id: 3, name: "square")]),
                     unitIndex: 0, outputDirectory: nil)
    }

    func item(id: Int, boxes: [(Int, BoundingBox)], captions: [String] = []) -> DatasetItem {
        DatasetItem(image: ImageInfo(id: id, fileName: "\(id).jpg", width: 100, height: 100), sourcePath: "/nonexistent/\(id).jpg",
                    annotations: boxes.enumerated().map { Annotation(id: id * 10 + $0.offset, imageId: id, categoryId: $0.element.0, bbox: $0.element.1) },
                    captions: captions)
    }

    func testGenerateConfigDefaultsRangesAndPaths() throws {
        let p = try parse("  - kind: generate\n    model: ../models/demo\n    encode_ratio: [0.4, 0.8]\n    guidance: 5\n    scheduler: ddim\n")
        let g = try XCTUnwrap(p.stages[0].config as? GenerateConfig)
        XCTAssertEqual(g.model, "/tmp/models/demo", "relative to the pipeline file's folder")
        XCTAssertEqual(g.encodeRatio, ValueRange(0.4, 0.8))
        XCTAssertEqual(g.guidance, ValueRange(5))
        XCTAssertEqual(g.resolvedSteps, 50, "DDIM runs 50 steps as in the authors' code")
        XCTAssertEqual(g.size, 512)
        XCTAssertEqual(g.variants, 2)
        XCTAssertEqual(g.prompt.source, .auto)
        XCTAssertEqual(g.dependencies, ["/tmp/models/demo"])
        let euler = try XCTUnwrap(try parse("  - kind: generate\n    model: m\n    scheduler: euler\n    steps: 2\n    encode_ratio: 0.5\n    guidance: 0\n")
            .stages[0].config as? GenerateConfig)
        XCTAssertEqual(euler.scheduler.engine, .eulerDiscrete)
        XCTAssertEqual(euler.resolvedSteps, 2)
        let dpm = try XCTUnwrap(try parse("  - kind: generate\n    model: m\n").stages[0].config as? GenerateConfig)
        XCTAssertEqual(dpm.resolvedSteps, 30, "DPM-Solver++ runs 30 steps as in the paper")
    }

    func testGenerateConfigRejectsBadValuesWithAReason() {
        let cases = [
            ("encode_ratio: [0.0, 0.5]", "encode_ratio"), ("encode_ratio: [0.8, 0.4]", "low <= high"), ("size: 100", "multiple of 8"),
            ("variants: 0", "variants"), ("scheduler: euler-ancestral", "euler-ancestral"), ("min_box_visible: 2", "min_box_visible"),
        ]
        for (line, expected) in cases {
            XCTAssertThrowsError(try parse("  - kind: generate\n    model: m\n    \(line)\n"), line) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(line): \(error)")
            }
        }
        XCTAssertThrowsError(try parse("  - kind: generate\n    variants: 1\n")) { XCTAssertTrue("\($0)".contains("model"), "\($0)") }
        XCTAssertThrowsError(try parse("  - kind: attributes\n")) { XCTAssertTrue("\($0)".contains("exactly one detector"), "\($0)") }
        XCTAssertThrowsError(try parse("  - kind: generate\n    model: m\n    prompt:\n      sorce: template\n")) {
            XCTAssertTrue("\($0)".contains("source"), "unknown nested key suggests the nearest: \($0)")
        }
    }

    func testLabelFusesWithGenerateAndMustFollowIt() throws {
        let plan = ResolvedPlan(try parse("  - kind: generate\n    model: m\n  - kind: label\n  - kind: confidence\n  - kind: write\n"))
        let graph = try ExecutionGraph(plan: plan)
        XCTAssertEqual(graph.segments.map(\.stageIds), [["generate", "label"], ["confidence"], ["write"]])
        XCTAssertThrowsError(try ExecutionGraph(plan: ResolvedPlan(try parse("  - kind: label\n  - kind: write\n"))))
    }

    func testReferenceCropScalesShiftsClipsAndDropsBoxes() throws {
        var random = SeededRandom(seed: 1)
        let crop = ReferenceCrop(width: 200, height: 100, size: 50, random: &random)
        XCTAssertEqual(crop.resizedWidth, 100)
        XCTAssertEqual(crop.resizedHeight, 50)
        XCTAssertEqual(crop.offsetY, 0)
        XCTAssertTrue((0...50).contains(crop.offsetX))
        var fixed = crop
        fixed.offsetX = 20
        let inside = try XCTUnwrap(fixed.transform(BoundingBox(x: 60, y: 20, width: 40, height: 40), minVisible: 0.5))
        XCTAssertEqual(inside, BoundingBox(x: 10, y: 10, width: 20, height: 20))
        // 60 % of this box survives the crop's left edge: clipped and kept at 0.5, dropped at 0.7
        let cut = BoundingBox(x: 32, y: 0, width: 20, height: 20)
        XCTAssertEqual(fixed.transform(cut, minVisible: 0.5), BoundingBox(x: 0, y: 0, width: 6, height: 10))
        XCTAssertNil(fixed.transform(cut, minVisible: 0.7))
        XCTAssertNil(fixed.transform(BoundingBox(x: 0, y: 0, width: 10, height: 10), minVisible: 0), "entirely outside")
        let image = RGBImage(width: 200, height: 100, fill: (10, 20, 30))
        let pixels = try fixed.apply(to: image)
        XCTAssertEqual([pixels.width, pixels.height], [50, 50])
        var same = SeededRandom(seed: 1)
        XCTAssertEqual(ReferenceCrop(width: 200, height: 100, size: 50, random: &same), crop, "seeded: the same crop again")
    }

    /// Issue 19 item 15: a reference box moved into the crop keeps its source area (COCO: the mask's), scaled like
    /// the box and times the share still visible, not the box's area (which moves many boxes up a size bucket).
    func testMovedReferenceBoxesKeepTheSourceAreaScaledByTheCrop() throws {
        var random = SeededRandom(seed: 1)
        var crop = ReferenceCrop(width: 200, height: 100, size: 50, random: &random)
        crop.offsetX = 20
        let source = [Annotation(id: 1, imageId: 7, categoryId: 3, bbox: BoundingBox(x: 60, y: 20, width: 40, height: 40), area: 700, attribute: "easy"),
                      Annotation(id: 2, imageId: 7, categoryId: 1, bbox: BoundingBox(x: 32, y: 0, width: 20, height: 20), area: 300, isCrowd: true),
                      Annotation(id: 3, imageId: 7, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 10, height: 10), area: 50)]
        let moved = crop.move(source, reference: 7, variant: 1, minVisible: 0.5)
        XCTAssertEqual(moved.map(\.id), [GeneratedIds.box(reference: 7, variant: 1, index: 0), GeneratedIds.box(reference: 7, variant: 1, index: 1)])
        XCTAssertEqual(moved.map(\.imageId), Array(repeating: GeneratedIds.image(reference: 7, variant: 1), count: 2))
        XCTAssertEqual(moved.map(\.bbox), [BoundingBox(x: 10, y: 10, width: 20, height: 20), BoundingBox(x: 0, y: 0, width: 6, height: 10)])
        XCTAssertEqual(moved[0].area, 700 * 0.25, accuracy: 1e-9, "scale 0.5 per side, all visible")
        XCTAssertEqual(moved[1].area, 300 * 0.25 * 0.6, accuracy: 1e-9, "60 % of the box is left after the crop")
        XCTAssertEqual(moved.map(\.attribute), ["easy", nil])
        XCTAssertEqual(moved.map(\.isCrowd), [false, true])
    }

    func testPromptsFromCaptionsTemplateAndDetDiffusion() throws {
        let categories = [Category(id: 1, name: "circle"), Category(id: 3, name: "square")]
        let reference = item(id: 4, boxes: [(3, BoundingBox(x: 0, y: 0, width: 50, height: 50)), (1, BoundingBox(x: 50, y: 50, width: 25, height: 25)),
                                            (3, BoundingBox(x: 10, y: 10, width: 5, height: 5))], captions: ["a square.", "two squares and a circle"])
        var config = PromptConfig()
        var builder = PromptBuilder(config: config, categories: categories)
        var r1 = SeededRandom(seed: 9), r2 = SeededRandom(seed: 9)
        let caption = try builder.prompt(for: reference, size: 100, random: &r1)
        XCTAssertTrue(reference.captions.contains(caption))
        XCTAssertEqual(try builder.prompt(for: reference, size: 100, random: &r2), caption, "the same seed picks the same caption")
        var noCaptions = reference
        noCaptions.captions = []
        XCTAssertEqual(try builder.prompt(for: noCaptions, size: 100, random: &r1), "A photo, with square, circle in the photo.")
        config.source = .template
        config.domain = "clipart"
        config.suffix = "highly detailed"
        builder = PromptBuilder(config: config, categories: categories)
        XCTAssertEqual(try builder.prompt(for: reference, size: 100, random: &r1), "A clipart, with square, circle in the clipart, highly detailed")
        config = PromptConfig()
        config.source = .captions
        XCTAssertThrowsError(try PromptBuilder(config: config, categories: categories).prompt(for: noCaptions, size: 100, random: &r1))
        config.source = .detdiffusion
        config.locationBins = 10
        var attributed = reference
        attributed.annotations[0].attribute = "easy"
        XCTAssertEqual(PromptBuilder(config: config, categories: categories).detDiffusion(for: attributed, size: 100),
                       "An image with square <l0> <l0> <l5> <l5> <easy>, circle <l5> <l5> <l7> <l7> <unknown>, square <l1> <l1> <l1> <l1> <unknown>")
    }

    func testGeneratedIdsAndNames() {
        XCTAssertEqual(GeneratedIds.image(reference: 42, variant: 3), 1_000_000_042_003)
        XCTAssertEqual(GeneratedIds.box(reference: 42, variant: 3, index: 7), 1_000_042_003_007)
        XCTAssertEqual(GeneratedIds.fileName(referenceFileName: "VOC2007/JPEGImages/000005.jpg", variant: 12), "000005_v012.jpg")
    }

    func testConfidenceKeepsScoresAtDeltaAndDropsEmptyImages() throws {
        var a = item(id: 1, boxes: [(1, BoundingBox(x: 0, y: 0, width: 5, height: 5)), (3, BoundingBox(x: 5, y: 5, width: 5, height: 5))])
        a.annotations[0].score = 0.3
        a.annotations[1].score = 0.29
        var b = item(id: 2, boxes: [(1, BoundingBox(x: 0, y: 0, width: 5, height: 5))])
        b.annotations[0].score = 0.1
        let out = try ConfidenceStage(config: ConfidenceConfig()).process(UnitOutput(items: [a, b]), context: context("confidence"))
        XCTAssertEqual(out.items.map(\.image.id), [1])
        XCTAssertEqual(out.items[0].annotations.map(\.score), [0.3])
        XCTAssertEqual(out.dropped.map(\.reason), ["no-confident-boxes"])
        XCTAssertEqual(out.counters["boxes-below-threshold"], 2)
    }

    func testAttributesFromAResultsFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("attr-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("dets.json")
        try AtomicFile.write("""
            [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 10, 10], "score": 0.9},
             {"image_id": 1, "category_id": 1, "bbox": [50, 50, 10, 10], "score": 0.2},
             {"image_id": 1, "category_id": 1, "bbox": [80, 80, 10, 10], "score": 0.9}]
            """, to: file)
        var config = AttributesConfig()
        config.detections = file.path
        let reference = item(id: 1, boxes: [(1, BoundingBox(x: 1, y: 1, width: 10, height: 10)),     // found: easy
                                            (1, BoundingBox(x: 50, y: 50, width: 10, height: 10)),   // only a weak prediction: hard
                                            (3, BoundingBox(x: 80, y: 80, width: 10, height: 10)),   // another class: hard
                                            (1, BoundingBox(x: 20, y: 20, width: 10, height: 10))])  // nothing there: hard
        let out = try AttributesStage(config: config).process(UnitOutput(items: [reference]), context: context("attributes"))
        XCTAssertEqual(out.items[0].annotations.map(\.attribute), ["easy", "hard", "hard", "hard"])
        XCTAssertEqual(out.counters["boxes-easy"], 1)
        XCTAssertEqual(out.counters["boxes-hard"], 3)
        config.detections = dir.appendingPathComponent("missing.json").path
        XCTAssertThrowsError(try AttributesStage(config: config).process(UnitOutput(items: [reference]), context: context("attributes"))) {
            XCTAssertTrue("\($0)".contains("missing.json") && "\($0)".contains("dataengine detect"), "\($0)")
        }
    }

    func testLabelsInheritTheAttributeOfTheirReferenceBox() {
        let stage = LabelStage(config: LabelConfig())
        let reference = [Annotation(id: 1, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 0, y: 0, width: 10, height: 10), attribute: "hard"),
                         Annotation(id: 2, imageId: 1, categoryId: 1, bbox: BoundingBox(x: 2, y: 0, width: 10, height: 10), attribute: "easy")]
        XCTAssertEqual(stage.config.inheritedAttribute(BoundingBox(x: 2, y: 0, width: 10, height: 10), categoryId: 1, reference: reference), "easy", "the best overlap wins")
        XCTAssertEqual(stage.config.inheritedAttribute(BoundingBox(x: 0, y: 0, width: 10, height: 10), categoryId: 3, reference: reference), "unknown", "same category only")
        XCTAssertEqual(stage.config.inheritedAttribute(BoundingBox(x: 30, y: 30, width: 10, height: 10), categoryId: 1, reference: reference), "unknown")
    }

    /// include_references: a reference that can no longer be read is left out and named, not silently lost.
    func testAnUnreadableReferenceIsNamedAmongTheSinkProblems() throws {
        var config = WriteConfig()
        config.includeReferences = true
        var generated = item(id: GeneratedIds.image(reference: 7, variant: 0), boxes: [])
        generated.reference = ReferenceSnapshot(item(id: 7, boxes: [(1, BoundingBox(x: 1, y: 1, width: 5, height: 5))]))
        var problems: [String] = []
        var renames: [LoadIssue] = []
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("refs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let written = try WriteStage(config: config).writeReferences(of: [generated], root: root, context: context("write"), problems: &problems, renames: &renames)
        XCTAssertTrue(written.isEmpty)
        XCTAssertEqual(problems.count, 1)
        XCTAssertTrue(problems[0].contains("/nonexistent/7.jpg") && problems[0].contains("image 7"), problems[0])
    }

    func testLabelWithoutGenerateSaysWhatIsWrong() {
        XCTAssertThrowsError(try LabelStage(config: LabelConfig()).process(UnitOutput(items: [item(id: 1, boxes: [])]), context: context("label"))) {
            XCTAssertTrue("\($0)".contains("right after a `generate`"), "\($0)")
        }
    }

    func testSourceShardKeepsEveryNthImage() throws {
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("data/demo/coco")
        var config = SourceConfig(format: .coco, instances: demo.appendingPathComponent("annotations/instances_val.json").path,
                                  images: demo.appendingPathComponent("val").path)
        let all = try LoadStage.load(config).items.map(\.image.id)
        config.shard = "1/3"
        XCTAssertEqual(try LoadStage.load(config).items.map(\.image.id), all.enumerated().filter { $0.offset % 3 == 1 }.map(\.element))
        XCTAssertThrowsError(try PipelineFile.parse("source:\n  format: coco\n  instances: a\n  images: b\n  shard: 3/3\nstages:\n  - kind: write\n",
                                                    file: "/tmp/p.yaml", defaultName: "p", catalog: .builtIn)) { XCTAssertTrue("\($0)".contains("i/n"), "\($0)") }
    }
}

final class NonFiniteGuardTests: XCTestCase {
    func testThreeInARowStopTheRunAndAFiniteItemResetsTheCount() throws {
        var guardrail = NonFiniteGuard(what: "generated images")
        try guardrail.record("a", stage: "generate")
        try guardrail.record("b", stage: "generate")
        guardrail.reset()
        try guardrail.record("c", stage: "generate")
        try guardrail.record("d", stage: "generate")
        XCTAssertThrowsError(try guardrail.record("e", stage: "generate")) {
            XCTAssertTrue("\($0)".contains("3 generated images in a row") && "\($0)".contains("(the last: e)"), "\($0)")
        }
    }
}
