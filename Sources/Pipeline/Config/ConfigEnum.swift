/// A config value from a fixed list (`scheduler: ddim`). An unknown value is reported with the valid ones and the
/// nearest, not as Swift's "Cannot initialize … from invalid String value".
public protocol ConfigEnum: CaseIterable, RawRepresentable, Codable, Sendable where RawValue == String {}

extension ConfigEnum {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            let names = Self.allCases.map(\.rawValue)
            let near = nearest(text, in: names).map { "; did you mean `\($0)`?" } ?? ""
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "`\(text)` is not one of: \(names.joined(separator: ", "))\(near)"))
        }
        self = value
    }
}
