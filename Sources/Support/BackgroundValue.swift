import Foundation

/// A value computed on another thread while the caller goes on (a merge's statistics while it writes the
/// instances file); `value` waits for it and rethrows what the computation threw.
public final class BackgroundValue<T: Sendable>: @unchecked Sendable {  // Unchecked: `result` is written once, before `done` is signalled.
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<T, Error>?

    public init(_ compute: @escaping @Sendable () throws -> T) {
        DispatchQueue.global().async {
            self.result = Result { try compute() }
            self.done.signal()
        }
    }

    public var value: T {
        get throws {
            done.wait()
            done.signal()  // later reads do not wait
            return try result!.get()
        }
    }
}
