/// A stage that needs all of its input before it can plan (e.g. tallying every label before planning more
/// variants). It runs once, after every unit of its input has committed, sees them in unit order, and
/// returns the items for the stages after it, which the pipeline splits into batches again. Its result is
/// checkpointed like any unit, so a resumed run does not plan twice.
public protocol BarrierStage: Stage {
    func plan(_ units: [UnitOutput], context: StageContext) throws -> UnitOutput
}

extension BarrierStage {
    public func process(_ input: UnitOutput, context: StageContext) throws -> UnitOutput {
        try plan([input], context: context)
    }
}
