/// A fixed colour for each category id, so that the same category looks the same in every preview.
/// Ids 0...19 get 20 hand-picked, clearly different colours (Sasha Trubetskoy's "20 distinct
/// colours", with dark green instead of beige, which is too close to apricot); larger ids get colours spread around the hue circle by the golden angle.
public enum CategoryPalette {
    public static let colors: [RGBColor] = [
        RGBColor(230, 25, 75),    // red
        RGBColor(60, 180, 75),    // green
        RGBColor(255, 225, 25),   // yellow
        RGBColor(0, 130, 200),    // blue
        RGBColor(245, 130, 48),   // orange
        RGBColor(145, 30, 180),   // purple
        RGBColor(70, 240, 240),   // cyan
        RGBColor(240, 50, 230),   // magenta
        RGBColor(210, 245, 60),   // lime
        RGBColor(250, 190, 212),  // pink
        RGBColor(0, 128, 128),    // teal
        RGBColor(220, 190, 255),  // lavender
        RGBColor(170, 110, 40),   // brown
        RGBColor(0, 100, 0),      // dark green
        RGBColor(128, 0, 0),      // maroon
        RGBColor(170, 255, 195),  // mint
        RGBColor(128, 128, 0),    // olive
        RGBColor(255, 215, 180),  // apricot
        RGBColor(0, 0, 128),      // navy
        RGBColor(128, 128, 128),  // grey
    ]

    /// The colour of category `id` (negative ids use their magnitude).
    public static func color(for id: Int) -> RGBColor {
        let index = id == Int.min ? Int.max : abs(id)
        if index < colors.count { return colors[index] }
        let n = index - colors.count
        let hue = (Double(n) * 0.618033988749895).truncatingRemainder(dividingBy: 1)
        let saturation = [0.85, 0.6, 1.0][n % 3]
        let value = [0.95, 0.75, 0.55][(n / 3) % 3]
        return hsv(hue: hue, saturation: saturation, value: value)
    }

    static func hsv(hue: Double, saturation s: Double, value v: Double) -> RGBColor {
        let h = hue * 6
        let sector = Int(h.rounded(.down)) % 6
        let f = h - h.rounded(.down)
        let p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f))
        let (r, g, b): (Double, Double, Double)
        switch sector {
        case 0: (r, g, b) = (v, t, p)
        case 1: (r, g, b) = (q, v, p)
        case 2: (r, g, b) = (p, v, t)
        case 3: (r, g, b) = (p, q, v)
        case 4: (r, g, b) = (t, p, v)
        default: (r, g, b) = (v, p, q)
        }
        return RGBColor(roundToByte(r * 255), roundToByte(g * 255), roundToByte(b * 255))
    }
}
