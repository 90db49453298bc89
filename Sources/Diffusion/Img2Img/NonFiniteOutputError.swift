/// The engine computed NaN or infinite values (an extreme guidance scale, a diverging model): the item cannot be
/// turned into an image or labels. Stages skip such an item and count it; repeated ones stop the run.
public struct NonFiniteOutputError: Error, CustomStringConvertible, Sendable {
    public var what: String
    public var count: Int
    public var of: Int

    public init(what: String, count: Int, of: Int) {
        self.what = what
        self.count = count
        self.of = of
    }

    public var description: String {
        "\(what) holds \(count) of \(of) values that are NaN or infinite"
    }
}
