import Pipeline

extension StageContext {
    /// The run's model cache.
    public var models: ModelCache { resources.shared { ModelCache() } }
    /// The run's timing tallies (the end-of-run breakdown).
    public var timings: StageTimings { resources.shared { StageTimings() } }
}

extension RunResources {
    public var timings: StageTimings { shared { StageTimings() } }
}
