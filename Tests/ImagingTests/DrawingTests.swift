import XCTest
@testable import Imaging

final class DrawingTests: XCTestCase {
    private func colored(_ image: RGBImage, _ color: RGBColor) -> Set<[Int]> {
        var set = Set<[Int]>()
        for y in 0..<image.height { for x in 0..<image.width where image[x, y] == color { set.insert([x, y]) } }
        return set
    }

    func testRectangleOutlineOnly() {
        var image = RGBImage(width: 10, height: 8, color: .white)
        image.drawRectangle(x: 2, y: 1, width: 5, height: 4, color: .red, thickness: 1)
        // Columns 2...6, rows 1...4.
        var expected = Set<[Int]>()
        for x in 2...6 { expected.insert([x, 1]); expected.insert([x, 4]) }
        for y in 1...4 { expected.insert([2, y]); expected.insert([6, y]) }
        XCTAssertEqual(colored(image, .red), expected)
    }

    func testThickRectangleGrowsInwardAndFractionalEdgesRound() {
        var image = RGBImage(width: 12, height: 12, color: .white)
        image.drawRectangle(x: 1.6, y: 2.4, width: 7.8, height: 6.2, color: .blue, thickness: 2)
        // Edges round to x 2..<9 (1.6 -> 2, 9.4 -> 9), y 2..<9 (2.4 -> 2, 8.6 -> 9).
        XCTAssertEqual(image[2, 2], .blue)
        XCTAssertEqual(image[3, 3], .blue)      // second ring
        XCTAssertEqual(image[4, 4], .white)     // inside
        XCTAssertEqual(image[8, 8], .blue)
        XCTAssertEqual(image[7, 7], .blue)
        XCTAssertEqual(image[9, 8], .white)     // outside right
        XCTAssertEqual(image[1, 2], .white)     // outside left
        XCTAssertEqual(colored(image, .blue).count, 7 * 7 - 3 * 3)
    }

    func testRectangleIsClipped() {
        var image = RGBImage(width: 8, height: 8, color: .white)
        image.drawRectangle(x: -4, y: 5, width: 8, height: 100, color: .red, thickness: 1)
        // Left and bottom edges are outside; the top edge (row 5, x 0..<4) and right edge (x 3) show.
        XCTAssertEqual(colored(image, .red), Set((0..<4).map { [$0, 5] } + (5..<8).map { [3, $0] }))
        var untouched = RGBImage(width: 8, height: 8, color: .white)
        untouched.drawRectangle(x: 50, y: 50, width: 5, height: 5, color: .red)
        untouched.drawRectangle(x: .nan, y: 0, width: 5, height: 5, color: .red)
        untouched.drawRectangle(x: -1e300, y: 0, width: 1e300, height: 5, color: .red)
        XCTAssertEqual(untouched, RGBImage(width: 8, height: 8, color: .white))
    }

    func testFontHasDistinctGlyphsForPrintableASCII() {
        XCTAssertEqual(BitmapFont.glyphs.count, 95)
        var seen = [[UInt8]: Character]()
        for code in 33...126 {
            let c = Character(UnicodeScalar(UInt8(code)))
            let glyph = BitmapFont.glyph(for: c)
            XCTAssertEqual(glyph.count, 7)
            XCTAssertTrue(glyph.contains { $0 != 0 }, "glyph for \(c) is blank")
            XCTAssertTrue(glyph.allSatisfy { $0 < 32 })
            if let other = seen[glyph] { XCTFail("\(c) looks like \(other)") }
            seen[glyph] = c
        }
        XCTAssertEqual(BitmapFont.glyph(for: " "), [0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(BitmapFont.glyph(for: "é"), BitmapFont.glyph(for: "?"))
        XCTAssertEqual(BitmapFont.glyph(for: "T")[0], 0b11111)
    }

    func testTextDrawsTheGlyphBits() {
        var image = RGBImage(width: 12, height: 8, color: .white)
        let width = image.drawText("LI", x: 0, y: 0, color: .black)
        XCTAssertEqual(width, 11)
        // "L": column 0 rows 0...6 and row 6 columns 0...4; "I" starts at x = 6.
        for y in 0..<7 { XCTAssertEqual(image[0, y], .black) }
        for x in 0..<5 { XCTAssertEqual(image[x, 6], .black) }
        XCTAssertEqual(image[1, 0], .white)
        XCTAssertEqual(image[7, 0], .black)  // I's top bar .###.
        XCTAssertEqual(image[6, 0], .white)
        XCTAssertEqual(image[8, 3], .black)  // I's stem
        XCTAssertEqual(colored(image, .black).count, 7 + 4 + 3 + 5 + 3)

        var big = RGBImage(width: 12, height: 14, color: .white)
        big.drawText("L", x: 0, y: 0, color: .black, scale: 2)
        XCTAssertEqual(colored(big, .black).count, (7 + 4) * 4)
    }

    func testLabelHasBackgroundAndText() {
        var image = RGBImage(width: 80, height: 20, color: .white)
        let rect = image.drawLabel("circle 0.87", x: 2, y: 3, color: .white, background: .blue)
        XCTAssertEqual(rect, PixelRect(x: 2, y: 3, width: 11 * 6 - 1 + 2, height: 9))
        XCTAssertEqual(image[2, 3], .blue)                        // padding corner
        XCTAssertEqual(image[2, 12], .white)                      // below the label
        let inside = colored(image, .white).filter { rect.contains(x: $0[0], y: $0[1]) }
        XCTAssertGreaterThan(inside.count, 40)                    // text pixels
        XCTAssertEqual(image[rect.maxX - 1, rect.maxY - 1], .blue)
    }

    func testBoxLabelGoesAboveOrInside() {
        var image = RGBImage(width: 80, height: 60, color: .white)
        let color = CategoryPalette.color(for: 3)
        let above = image.drawBox(x: 10, y: 30, width: 40, height: 20, color: color, label: "ball 0.9")
        XCTAssertEqual(above?.maxY, 30)
        XCTAssertEqual(above?.x, 10)
        let inside = image.drawBox(x: 60, y: 2, width: 30, height: 10, color: color, label: "long label")
        XCTAssertEqual(inside?.y, 2)                               // no room above
        XCTAssertEqual(inside?.maxX, 80)                           // pushed back into the image
        XCTAssertEqual(image[10, 30], color)                       // box corner
        XCTAssertNil(image.drawBox(x: 1, y: 1, width: 3, height: 3, color: color))
    }

    func testPaletteColoursAreDistinctAndStable() {
        let colors = (0..<64).map(CategoryPalette.color(for:))
        XCTAssertEqual(Set(colors).count, 64)
        XCTAssertEqual(CategoryPalette.color(for: 0), RGBColor(230, 25, 75))
        XCTAssertEqual(CategoryPalette.color(for: -2), CategoryPalette.color(for: 2))
        XCTAssertFalse(colors.contains(.white))
        // The first 20 differ clearly from each other (sum of channel differences).
        for i in 0..<20 {
            for j in 0..<i {
                let a = colors[i], b = colors[j]
                let d = abs(Int(a.r) - Int(b.r)) + abs(Int(a.g) - Int(b.g)) + abs(Int(a.b) - Int(b.b))
                XCTAssertGreaterThan(d, 60, "\(i) vs \(j)")
            }
        }
    }

    func testTruncation() {
        XCTAssertEqual(BitmapFont.truncate("abc", toWidth: 100), "abc")
        XCTAssertEqual(BitmapFont.truncate("abcdefgh", toWidth: 29), "abc..")  // 5 chars: 29 px
        XCTAssertEqual(BitmapFont.width(of: BitmapFont.truncate(String(repeating: "x", count: 99), toWidth: 64)), 59)
    }
}
