/// Every random draw in DataEngine comes from here: a SplitMix64 stream whose seed is derived from the run
/// seed and the identity of what is being drawn for (stage, item, variant), never from the system RNG. So
/// reruns, resumes and any worker count draw the same numbers.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one purpose: `SeededRandom(runSeed: 7, "generate", imageId, variant)`.
    public init(runSeed: UInt64, _ stage: String, _ parts: Int...) {
        self.init(seed: SeededRandom.derive(runSeed: runSeed, stage: stage, parts: parts))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeededRandom.mix(state)
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    public static func derive(runSeed: UInt64, stage: String, parts: [Int]) -> UInt64 {
        var h = mix(runSeed ^ 0x5DEE_CE66_D1CE_4E5B)
        for byte in stage.utf8 { h = mix(h ^ UInt64(byte)) }
        for p in parts { h = mix(h ^ UInt64(bitPattern: Int64(p))) }
        return h
    }

    @inline(__always) static func mix(_ z0: UInt64) -> UInt64 {
        var z = z0
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
