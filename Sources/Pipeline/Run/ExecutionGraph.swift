/// The pipeline's stages grouped into segments: a segment is a stage plus the stages fused into it, which
/// run inside one unit with only the last one's result checkpointed.
public struct ExecutionGraph: Sendable {
    public struct Segment: Sendable {
        public var index: Int
        public var stageIds: [String]
        public var stages: [any Stage]
        /// The segment this one reads from; nil = the source.
        public var input: Int?
        public var isSink: Bool
        public var isBarrier: Bool
        /// A barrier that runs rounds of units before it commits (`RoundsStage`).
        public var isRounds: Bool
        public var head: String { stageIds[0] }
        /// Checkpoints are filed under the last stage's id.
        public var tail: String { stageIds[stageIds.count - 1] }
    }

    public var segments: [Segment]

    public init(plan: ResolvedPlan) throws {
        var segments: [Segment] = []
        var segmentOfStage: [String: Int] = [:]
        var consumers: [String: Int] = [:]
        for stage in plan.stages { consumers[stage.input, default: 0] += 1 }
        for stage in plan.stages {
            let built = try stage.stageKind.make(stage.config)
            if stage.fusedWithInput {
                guard stage.input != ResolvedPlan.sourceId, let s = segmentOfStage[stage.input] else {
                    throw PipelineError(message: "stage `\(stage.id)` (\(stage.kind)) must follow the stage it fuses with, not the source")
                }
                guard segments[s].tail == stage.input, consumers[stage.input] == 1 else {
                    throw PipelineError(message: "stage `\(stage.id)` (\(stage.kind)) runs fused with `\(stage.input)`, so no other stage may read `\(stage.input)`",
                                        hint: "what passes between fused stages is never stored; read from `\(stage.id)` instead")
                }
                if let why = Fusion.mismatch(producer: segments[s].stages[segments[s].stages.count - 1], consumer: built) {
                    throw PipelineError(message: "stage `\(stage.id)` (\(stage.kind)) runs fused with `\(stage.input)`, but \(why)",
                                        hint: "put it right after a stage whose result it reads in memory")
                }
                guard segments[s].stages.count == 1 else {
                    throw PipelineError(message: "stage `\(stage.id)` (\(stage.kind)) would be the third stage of one fused unit",
                                        hint: "only two stages run fused: read from `\(stage.input)` with a stage that does not fuse")
                }
                segments[s].stageIds.append(stage.id)
                segments[s].stages.append(built)
                segments[s].isSink = built is any SinkStage
                segmentOfStage[stage.id] = s
                continue
            }
            var input: Int?
            if stage.input != ResolvedPlan.sourceId {
                let s = segmentOfStage[stage.input]!
                guard segments[s].tail == stage.input else {
                    throw PipelineError(message: "stage `\(stage.id)` reads `\(stage.input)`, whose result is handed in memory to `\(segments[s].tail)` and never stored",
                                        hint: "read from `\(segments[s].tail)` instead")
                }
                input = s
            }
            segmentOfStage[stage.id] = segments.count
            segments.append(Segment(index: segments.count, stageIds: [stage.id], stages: [built], input: input,
                                    isSink: built is any SinkStage, isBarrier: built is any BarrierStage || built is any RoundsStage,
                                    isRounds: built is any RoundsStage))
        }
        self.segments = segments
    }
}
