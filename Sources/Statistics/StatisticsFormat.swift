import Datasets
/// Fixed, locale-independent number formatting for the statistics report: the same numbers always give the
/// same bytes.
enum StatisticsFormat {
    /// 1281418 → "1,281,418" (for Markdown only; CSV and JSON carry plain numbers).
    static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (k, ch) in digits.enumerated() {
            if k > 0 && (digits.count - k) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return n < 0 ? "-" + out : out
    }

    /// `value` with exactly `decimals` digits after the point, rounded half away from zero; "-" when not finite.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale: Double = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (value.magnitude * scale).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let units = UInt64(scaled)
        let divisor = UInt64(scale)
        var text = String(units / divisor)
        if decimals > 0 {
            let fraction = String(units % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return value < 0 && units != 0 ? "-" + text : text
    }

    /// Like `fixed`, without trailing zeros after the point ("2.50" → "2.5", "3.00" → "3").
    static func trimmed(_ value: Double, _ maxDecimals: Int) -> String {
        var text = fixed(value, maxDecimals)
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Table 1's scale: numerator / denominator to one decimal, rounded half up, in exact integer arithmetic
    /// ("1.5x"); "-" when the denominator is not positive.
    static func scale(_ numerator: Int, _ denominator: Int) -> String {
        guard denominator > 0, numerator >= 0 else { return "-" }
        let tenths = (20 * numerator + denominator) / (2 * denominator)
        return "\(tenths / 10).\(tenths % 10)x"
    }

    /// 0.1234 → "12.3%".
    static func percent(_ share: Double) -> String { fixed(share * 100, 1) + "%" }

    /// Compact axis labels: 2500 → "2.5k", 1000000 → "1M", 40 → "40".
    static func compact(_ value: Double) -> String {
        if value.magnitude >= 1_000_000 { return trimmed(value / 1_000_000, 2) + "M" }
        if value.magnitude >= 1_000 { return trimmed(value / 1_000, 2) + "k" }
        return trimmed(value, 2)
    }
}
