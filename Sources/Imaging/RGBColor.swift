/// One 8-bit RGB colour.
public struct RGBColor: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGBColor(0, 0, 0)
    public static let white = RGBColor(255, 255, 255)
    public static let red = RGBColor(255, 0, 0)
    public static let green = RGBColor(0, 255, 0)
    public static let blue = RGBColor(0, 0, 255)
    public static let gray = RGBColor(128, 128, 128)

    /// As the tuple `RGBImage(width:height:fill:)` takes.
    public var tuple: (UInt8, UInt8, UInt8) { (r, g, b) }

    /// Rec. 601 luma, 0...255.
    public var luma: Double { 0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b) }

    /// Black or white, whichever reads better as text on this colour.
    public var contrastingTextColor: RGBColor { luma >= 140 ? .black : .white }

    public var description: String { "#" + hexByte(r) + hexByte(g) + hexByte(b) }
}
