import Pipeline
import Tensors

extension StageCatalog {
    /// The stage kinds of `dataengine run`. Adding a kind: its own file in this target, one line here, and
    /// docs/architecture.md ("Adding a stage").
    public static let builtIn = StageCatalog(source: LoadStage.kind, kinds: [
        .typed("filter", summary: "drop images whose objects cover too little of the image; drop small or crowd boxes",
               config: FilterConfig.self, make: { FilterStage(config: $0) }),
        .typed("attributes", summary: "mark each box easy or hard by whether a detector finds it (DetDiffusion's perception-aware attribute)",
               config: AttributesConfig.self, make: { AttributesStage(config: $0) }),
        .typed("generate", summary: "noise-and-denoise each reference into variants with the diffusion model (DiffusionEngine)",
               config: GenerateConfig.self, make: { GenerateStage(config: $0) }),
        .typed("label", summary: "label generated images with the Detection-Adapter on the last step's UNet features (fused with generate), or from your detector's results file",
               fusesWhen: { $0.mode != .results }, config: LabelConfig.self,
               make: { $0.mode == .results ? ResultsLabelStage(config: $0) as any Stage : LabelStage(config: $0) }),
        .typed("confidence", summary: "keep labels scoring at least δ; drop images left without labels",
               config: ConfidenceConfig.self, make: { ConfidenceStage(config: $0) }),
        .typed("quota", summary: "generate more variants of references with categories below a minimum count (the paper's annotation lower bound)",
               config: QuotaConfig.self, make: { QuotaStage(config: $0) }),
        .typed("write", summary: "write the items as a COCO or VOC dataset, in shards, with statistics",
               isSink: true, config: WriteConfig.self, make: { WriteStage(config: $0) }),
    ], kernelPath: KernelPath.description)
}
