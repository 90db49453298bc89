import Pipeline

/// Items whose numbers came out NaN or infinite are skipped (dropped with reason `non-finite`); `limit` of them in a
/// row within a unit stop the run, since then the model or the settings diverge rather than one item being odd.
struct NonFiniteGuard {
    static let reason = "non-finite"
    static let limit = 3

    var what: String
    private var inARow = 0

    init(what: String) { self.what = what }

    mutating func reset() { inARow = 0 }

    /// Counts one skipped item; throws once `limit` were skipped in a row.
    mutating func record(_ item: String, stage: String) throws {
        inARow += 1
        guard inARow >= Self.limit else { return }
        throw StageError(stage: stage, message: "\(Self.limit) \(what) in a row held NaN or infinite values (the last: \(item))",
                         hint: "the model or the settings diverge: lower `guidance`, check the model's weights, or try another scheduler")
    }
}
