/// A run-level problem (lock held, run directory changed, disk full): what happened and what to do.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var hint: String?

    public init(message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { message + (hint.map { "\n  hint: \($0)" } ?? "") }
}

/// The user interrupted the run (Ctrl-C, SIGTERM): committed work is kept, the run can be resumed.
public struct RunInterrupted: Error, CustomStringConvertible, Sendable {
    public var runDirectory: String
    public var description: String { "interrupted; finished work is kept. Continue with: dataengine resume \(runDirectory)" }
}
