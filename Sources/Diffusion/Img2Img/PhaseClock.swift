import Dispatch

/// Wall-clock laps of a run's parts ("encode", "denoise", ...), for timing breakdowns.
public struct PhaseClock: Sendable {
    private var last = DispatchTime.now().uptimeNanoseconds
    public private(set) var laps: [String: Double] = [:]

    public init() {}

    /// Adds the time since the previous lap (or creation) to `name`.
    public mutating func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        laps[name, default: 0] += Double(now - last) / 1e9
        last = now
    }
}
