/// Pixel access and simple whole-region operations on `RGBImage`.
extension RGBImage {
    /// An image filled with one colour.
    public init(width: Int, height: Int, color: RGBColor) {
        self.init(width: width, height: height, fill: color.tuple)
    }

    /// True when (x, y) is a pixel of the image.
    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// The pixel at column x, row y (both must be inside the image).
    public subscript(x: Int, y: Int) -> RGBColor {
        get {
            precondition(contains(x: x, y: y), "RGBImage: pixel (\(x), \(y)) is outside the \(width)x\(height) image")
            let i = (y * width + x) * 3
            return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition(contains(x: x, y: y), "RGBImage: pixel (\(x), \(y)) is outside the \(width)x\(height) image")
            let i = (y * width + x) * 3
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }

    /// Fills the rectangle (x, y, width, height), clipped to the image.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x.saturatingAdd(w)), y1 = min(height, y.saturatingAdd(h))
        guard x0 < x1, y0 < y1 else { return }
        let rowWidth = width
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                var i = (row * rowWidth + x0) * 3
                for _ in x0..<x1 {
                    p[i] = color.r
                    p[i + 1] = color.g
                    p[i + 2] = color.b
                    i += 3
                }
            }
        }
    }

    /// Copies `image` into this one with its top-left corner at (x, y), clipped to this image.
    public mutating func paste(_ image: RGBImage, x: Int, y: Int) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x.saturatingAdd(image.width)), y1 = min(height, y.saturatingAdd(image.height))
        guard x0 < x1, y0 < y1 else { return }
        let rowBytes = (x1 - x0) * 3
        let rowWidth = width
        image.pixels.withUnsafeBufferPointer { source in
            pixels.withUnsafeMutableBufferPointer { destination in
                for row in y0..<y1 {
                    let from = ((row - y) * image.width + (x0 - x)) * 3
                    let to = (row * rowWidth + x0) * 3
                    for k in 0..<rowBytes { destination[to + k] = source[from + k] }
                }
            }
        }
    }
}

extension Int {
    func saturatingAdd(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? Int.max : Int.min) : sum
    }
}
