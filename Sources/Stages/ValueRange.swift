import Datasets
import Support

/// A number or a range to draw from uniformly, as a pipeline file writes it: `7.5` or `[0.3, 1.0]`.
public struct ValueRange: Codable, Hashable, Sendable {
    public var lower: Double
    public var upper: Double

    public init(_ value: Double) { (lower, upper) = (value, value) }
    public init(_ lower: Double, _ upper: Double) { (self.lower, self.upper) = (lower, upper) }

    public var isSingle: Bool { lower == upper }

    /// One draw; a single value consumes no randomness, so adding a range elsewhere never shifts other draws.
    public func draw(_ random: inout SeededRandom) -> Double {
        isSingle ? lower : lower + (upper - lower) * random.nextUnit()
    }

    public init(from decoder: Decoder) throws {
        func wrong(_ why: String) -> DecodingError { .dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: why)) }
        if let single = try? decoder.singleValueContainer().decode(Double.self) {
            guard single.isFinite else { throw wrong("\(single) is not a finite number: write a number like 7.5 or a range [low, high]") }
            self.init(single)
            return
        }
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            throw wrong("`\(text)` is not a number: write a number like 7.5 or a range [low, high]")
        }
        var c = try decoder.unkeyedContainer()
        let lower = try c.decode(Double.self)
        let upper = try c.decode(Double.self)
        guard c.isAtEnd, lower <= upper else { throw wrong("a range is [low, high] with low <= high, or one number") }
        guard lower.isFinite, upper.isFinite else { throw wrong("a range's ends are finite numbers") }
        self.init(lower, upper)
    }

    public func encode(to encoder: Encoder) throws {
        if isSingle {
            var c = encoder.singleValueContainer()
            try c.encode(lower)
        } else {
            var c = encoder.unkeyedContainer()
            try c.encode(lower)
            try c.encode(upper)
        }
    }
}
