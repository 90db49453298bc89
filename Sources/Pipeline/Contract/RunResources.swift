import Synchronization

/// Objects a run's units share: a model cache, timing tallies, a parsed detections file. One of each type per run,
/// made by the first unit that asks. Stages reach them through `StageContext.resources`, never through
/// process-wide singletons, so two runs in one process (tests, code embedding the runner) keep their own.
public final class RunResources: Sendable {
    private let objects = Mutex<[ObjectIdentifier: any Sendable]>([:])

    public init() {}

    /// The run's object of type `T`, made by `make` on first use.
    public func shared<T: Sendable>(_ type: T.Type = T.self, make: () -> T) -> T {
        objects.withLock { table in
            if let existing = table[ObjectIdentifier(type)] as? T { return existing }
            let made = make()
            table[ObjectIdentifier(type)] = made
            return made
        }
    }
}
