import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Catches Ctrl-C and SIGTERM: the first asks the run to stop after its in-flight units (committed work is
/// kept), a second Ctrl-C exits at once (the run is still resumable: uncommitted units are redone).
// Unchecked: `interrupted` and `sources` are guarded by `lock`.
final class InterruptWatcher: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in self?.handle() }
            source.resume()
            sources.append(source)
        }
    }

    private func handle() {
        lock.lock()
        let second = interrupted
        interrupted = true
        lock.unlock()
        if second { _exit(130) }
        FileHandle.standardError.write(Data("\ninterrupting: finishing the units in progress (Ctrl-C again to stop at once)\n".utf8))
    }

    var isInterrupted: Bool {
        lock.lock(); defer { lock.unlock() }
        return interrupted
    }
}
