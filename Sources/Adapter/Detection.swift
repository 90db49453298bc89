/// One detected box in image pixels (x0, y0, x1, y1), with its score, the adapter's class index and that
/// class's dataset category id.
public struct Detection: Sendable, Equatable {
    public var x0, y0, x1, y1: Float
    public var score: Float
    public var classIndex: Int
    public var categoryId: Int

    public init(x0: Float, y0: Float, x1: Float, y1: Float, score: Float, classIndex: Int, categoryId: Int) {
        (self.x0, self.y0, self.x1, self.y1) = (x0, y0, x1, y1)
        self.score = score
        self.classIndex = classIndex
        self.categoryId = categoryId
    }

    public var width: Float { x1 - x0 }
    public var height: Float { y1 - y0 }
}

/// A pre-NMS candidate of the decoder: its box (not yet clipped), score, class, level and location `y * w + x`.
public struct DetectionCandidate: Sendable, Equatable {
    public var box: (x0: Float, y0: Float, x1: Float, y1: Float)
    public var score: Float
    public var classIndex: Int
    public var level: Int
    public var location: Int

    public static func == (a: Self, b: Self) -> Bool {
        a.box == b.box && a.score == b.score && a.classIndex == b.classIndex && a.level == b.level && a.location == b.location
    }
}
