extension KeyedDecodingContainer {
    /// Decodes `key` into `value` when the key is present; an absent key keeps the value the config was
    /// initialised with, so every default is stated once, at its property.
    public func decodeIfPresent<T: Decodable>(_ key: Key, into value: inout T) throws {
        if let decoded = try decodeIfPresent(T.self, forKey: key) { value = decoded }
    }
}
