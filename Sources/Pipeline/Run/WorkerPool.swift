import Foundation

/// Runs tasks on Dispatch with at most `workers` at a time. A coordinator asks `next` for a ready task
/// whenever a worker is free, so tasks become ready as their inputs commit. The order tasks run in never
/// changes results: each task's output depends only on its committed inputs.
// Unchecked: `running` and `failure` are only touched with `condition` locked.
final class WorkerPool<Task: Hashable & Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var running = Set<Task>()
    private var failure: Error?
    private let workers: Int
    private let queue = DispatchQueue(label: "dataengine.workers", attributes: .concurrent)

    init(workers: Int) { self.workers = max(1, workers) }

    /// - Parameters:
    ///   - next: a ready task not in `running`, or nil; called with the pool's lock held.
    ///   - completed: called (lock held) after a task succeeded, before `next` is asked again.
    ///   - isCancelled: stop starting tasks (in-flight ones finish or notice cancellation themselves).
    /// - Returns: when nothing is running and nothing is ready; throws the first task error.
    func run(next: (Set<Task>) -> Task?, completed: @escaping @Sendable (Task) -> Void, isCancelled: @escaping () -> Bool,
             execute: @escaping @Sendable (Task) throws -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if failure == nil && !isCancelled() {
                while running.count < workers, let task = next(running) {
                    running.insert(task)
                    queue.async { [self] in
                        var error: Error?
                        do { try execute(task) } catch let e { error = e }
                        condition.lock()
                        running.remove(task)
                        if let error { if failure == nil { failure = error } } else { completed(task) }
                        condition.signal()
                        condition.unlock()
                    }
                }
            }
            if running.isEmpty { break }
            _ = condition.wait(until: Date().addingTimeInterval(0.5))
        }
        if let failure { throw failure }
    }
}
