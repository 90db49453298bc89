extension RGBImage {
    /// Draws the outline of the box (x, y, width, height), given in possibly fractional pixels
    /// (x, y: top-left corner). Edges are rounded to the nearest pixel boundary; the outline is
    /// `thickness` pixels wide and lies inside the box, so a box along the image border stays
    /// visible. Everything is clipped to the image; non-finite boxes draw nothing.
    public mutating func drawRectangle(x: Double, y: Double, width w: Double, height h: Double,
                                       color: RGBColor, thickness: Int = 2) {
        guard let rect = Self.pixelRect(x: x, y: y, width: w, height: h), thickness > 0 else { return }
        drawRectangle(rect, color: color, thickness: thickness)
    }

    /// Draws the outline of a whole-pixel rectangle, `thickness` pixels wide, inside it, clipped.
    public mutating func drawRectangle(_ rect: PixelRect, color: RGBColor, thickness: Int = 2) {
        guard rect.width > 0, rect.height > 0, thickness > 0 else { return }
        let tv = min(thickness, rect.height), th = min(thickness, rect.width)
        fill(x: rect.x, y: rect.y, width: rect.width, height: tv, color: color)                   // top
        fill(x: rect.x, y: rect.maxY - tv, width: rect.width, height: tv, color: color)           // bottom
        fill(x: rect.x, y: rect.y, width: th, height: rect.height, color: color)                  // left
        fill(x: rect.maxX - th, y: rect.y, width: th, height: rect.height, color: color)          // right
    }

    /// The whole-pixel rectangle a fractional box covers (edges rounded to the nearest pixel
    /// boundary, at least 1x1); nil for non-finite input.
    public static func pixelRect(x: Double, y: Double, width w: Double, height h: Double) -> PixelRect? {
        guard x.isFinite, y.isFinite, w.isFinite, h.isFinite else { return nil }
        func edge(_ v: Double) -> Int { Int(min(max(v, -1e9), 1e9).rounded()) }
        let left = edge(x), top = edge(y)
        let right = max(left + 1, edge(x + max(0, w))), bottom = max(top + 1, edge(y + max(0, h)))
        return PixelRect(x: left, y: top, width: right - left, height: bottom - top)
    }
}
