import Pipeline

/// `deep_cache: {interval: N}` of a generate stage (DeepCache, Ma et al. 2024): a full UNet call every N denoising
/// steps; the steps in between run only the first level's blocks and reuse the deep feature of the last full call.
/// The last step is always full, so labels read its taps as without the cache. Off by default (a key that is
/// absent); it changes the images.
public struct GenerateDeepCacheConfig: Codable, Hashable, Sendable {
    public var interval: Int

    public init(interval: Int) { self.interval = interval }

    enum CodingKeys: String, CodingKey { case interval }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interval = try c.decode(Int.self, forKey: .interval)
        guard (2...1000).contains(interval) else {
            throw DecodingError.dataCorruptedError(forKey: .interval, in: c,
                                                   debugDescription: "interval is 2...1000: a full UNet call every `interval` steps (DeepCache's N; 3 is typical); leave deep_cache out to turn it off")
        }
    }
}
