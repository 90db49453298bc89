/// Text, labels and labelled boxes drawn with `BitmapFont`.
extension RGBImage {
    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale` x `scale` image
    /// pixels, clipped to the image. Characters outside ASCII 32...126 are drawn as "?".
    /// Returns the width drawn, in pixels.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: RGBColor, scale: Int = 1) -> Int {
        precondition(scale > 0, "drawText: scale must be positive")
        var penX = x
        for character in text {
            let rows = BitmapFont.glyph(for: character)
            for (row, bits) in rows.enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    fill(x: penX + column * scale, y: y + row * scale, width: scale, height: scale, color: color)
                }
            }
            penX += BitmapFont.advance * scale
        }
        return BitmapFont.width(of: text, scale: scale)
    }

    /// The size of a label made by `drawLabel`.
    public static func labelSize(_ text: String, scale: Int = 1, padding: Int = 1) -> (width: Int, height: Int) {
        (BitmapFont.width(of: text, scale: scale) + 2 * padding, BitmapFont.glyphHeight * scale + 2 * padding)
    }

    /// Draws `text` on a filled `background` rectangle (none when nil) whose top-left corner is
    /// (x, y), with `padding` pixels around the text. Returns the label's rectangle (unclipped).
    @discardableResult
    public mutating func drawLabel(_ text: String, x: Int, y: Int, color: RGBColor,
                                   background: RGBColor? = nil, scale: Int = 1, padding: Int = 1) -> PixelRect {
        let size = Self.labelSize(text, scale: scale, padding: padding)
        let rect = PixelRect(x: x, y: y, width: size.width, height: size.height)
        if let background { fill(x: rect.x, y: rect.y, width: rect.width, height: rect.height, color: background) }
        drawText(text, x: x + padding, y: y + padding, color: color, scale: scale)
        return rect
    }

    /// Draws a detection: the box outline in `color` and, when `label` is non-empty, the label
    /// (e.g. "circle 0.87") in black or white on a `color` background, just above the box's top-left
    /// corner, or just inside it when there is no room above; shifted left if it would leave the
    /// image on the right. Returns the label's rectangle, nil without a label or for a non-finite box.
    @discardableResult
    public mutating func drawBox(x: Double, y: Double, width w: Double, height h: Double, color: RGBColor,
                                 label: String? = nil, thickness: Int = 2, scale: Int = 1) -> PixelRect? {
        guard let box = Self.pixelRect(x: x, y: y, width: w, height: h) else { return nil }
        drawRectangle(box, color: color, thickness: thickness)
        guard let label, !label.isEmpty else { return nil }
        let size = Self.labelSize(label, scale: scale)
        var labelX = box.x, labelY = box.y - size.height
        if labelY < 0 { labelY = max(box.y, 0) }
        if labelX + size.width > width { labelX = width - size.width }
        if labelX < 0 { labelX = 0 }
        return drawLabel(label, x: labelX, y: labelY, color: color.contrastingTextColor, background: color, scale: scale)
    }
}
