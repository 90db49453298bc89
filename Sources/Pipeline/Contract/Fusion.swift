/// A stage's output plus one in-memory value per item (`values[i]` belongs to `output.items[i]`), handed to the
/// stage fused after it and never checkpointed (generate hands each generated image's UNet features to label).
public struct HandedOver<Value: Sendable>: Sendable {
    public var output: UnitOutput
    public private(set) var values: [Value]

    /// Empty: add items with `append`, so each has its value.
    public init() {
        output = UnitOutput()
        values = []
    }

    /// Adds an item and the value handed over with it.
    public mutating func append(_ item: DatasetItem, _ value: Value) {
        output.items.append(item)
        values.append(value)
    }

    /// The items with their values, in order.
    public var pairs: Zip2Sequence<[DatasetItem], [Value]> { zip(output.items, values) }
}

/// A stage that hands a value per item to the stage fused after it. Its checkpointed output is `output`.
public protocol HandOverStage<HandOver>: Stage {
    associatedtype HandOver: Sendable
    func produce(_ input: UnitOutput, context: StageContext) throws -> HandedOver<HandOver>
}

extension HandOverStage {
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        try produce(input, context: context).output
    }
}

/// A stage that runs in its input's unit and reads what that stage handed over (its kind has `fusesWithInput`).
/// The pipeline checks, when the plan is built, that the stage before it hands over this `HandOver` type.
public protocol FusedStage<HandOver>: Stage {
    associatedtype HandOver: Sendable
    func consume(_ input: HandedOver<HandOver>, context: StageContext) throws -> UnitOutput
}

extension FusedStage {
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        throw StageError(stage: context.stageId, message: "this stage reads what the stage before it hands over in memory (\(HandOver.self)), and got nothing",
                         hint: "put it right after a stage that hands over \(HandOver.self); they run fused")
    }
}

/// Runs a producer and the stage fused after it on one unit, with the hand-over type checked.
enum Fusion {
    /// Whether `consumer` reads what `producer` hands over; nil when it does, else why not.
    static func mismatch(producer: any Stage, consumer: any Stage) -> String? {
        guard let producer = producer as? any HandOverStage else { return "it hands nothing over in memory" }
        return mismatch(producer, consumer)
    }

    private static func mismatch<P: HandOverStage>(_ producer: P, _ consumer: any Stage) -> String? {
        consumer is any FusedStage<P.HandOver> ? nil : "it hands over \(P.HandOver.self), which this stage does not read"
    }

    /// The producer's output and the consumer's output.
    static func run(producer: any Stage, consumer: any Stage, input: UnitOutput,
                    producerContext: StageContext, consumerContext: StageContext) throws -> (UnitOutput, UnitOutput) {
        guard let producer = producer as? any HandOverStage else {
            throw StageError(stage: consumerContext.stageId, message: "`\(producerContext.stageId)` hands nothing over in memory")
        }
        return try run(producer, consumer, input, producerContext, consumerContext)
    }

    private static func run<P: HandOverStage>(_ producer: P, _ consumer: any Stage, _ input: UnitOutput,
                                              _ producerContext: StageContext, _ consumerContext: StageContext) throws -> (UnitOutput, UnitOutput) {
        guard let consumer = consumer as? any FusedStage<P.HandOver> else {
            throw StageError(stage: consumerContext.stageId, message: "does not read \(P.HandOver.self), which `\(producerContext.stageId)` hands over")
        }
        let handed = try producer.produce(input, context: producerContext)
        return (handed.output, try consumer.consume(handed, context: consumerContext))
    }
}
