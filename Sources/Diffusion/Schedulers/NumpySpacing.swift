/// The numpy float64 arithmetic behind diffusers' `set_timesteps`, reproduced exactly so that timesteps agree for
/// every step count (rounding ties included).
enum NumpySpacing {
    /// `np.linspace(start, stop, count)` (endpoint included): `i * step + start` with step = (stop - start) /
    /// (count - 1), the last value set to `stop`.
    static func linspace(_ start: Double, _ stop: Double, count: Int) -> [Double] {
        guard count > 0 else { return [] }
        if count == 1 { return [start] }
        let delta = stop - start
        let div = Double(count - 1)
        let step = delta / div
        var values: [Double] = (0..<count).map { i in
            step == 0 ? Double(i) / div * delta + start : Double(i) * step + start
        }
        values[count - 1] = stop
        return values
    }

    /// `np.arange(start, stop, step)` for a float step: ceil((stop - start) / step) values; numpy writes start and
    /// start + step, then fills `start + i * delta` with delta = (start + step) - start.
    static func arange(_ start: Double, _ stop: Double, step: Double) -> [Double] {
        let length = ((stop - start) / step).rounded(.up)
        guard length > 0, length.isFinite else { return [] }
        let count = Int(length)
        var values = [start]
        if count == 1 { return values }
        let next = start + step
        values.append(next)
        let delta = next - start
        for i in 2..<count { values.append(start + Double(i) * delta) }
        return values
    }

    /// numpy's `round` (half to even) then `astype(np.int64)`.
    static func roundedToInt(_ values: [Double]) -> [Int] {
        values.map { Int($0.rounded(.toNearestOrEven)) }
    }
}
