import XCTest
@testable import Imaging

final class ContactSheetTests: XCTestCase {
    func testSizeAndPlacement() {
        let red = RGBImage(width: 40, height: 20, color: RGBColor(200, 0, 0))
        let blue = RGBImage(width: 20, height: 40, color: RGBColor(0, 0, 200))
        let rows: [[ContactSheet.Cell]] = [
            [ContactSheet.Cell(red, caption: "reference"), ContactSheet.Cell(blue, caption: "variant 1"),
             ContactSheet.Cell(nil, caption: "missing")],
            [ContactSheet.Cell(blue)],
        ]
        let sheet = ContactSheet(cellWidth: 50, cellHeight: 40, margin: 5)
        let captionHeight = 7 + 4
        XCTAssertEqual(sheet.captionHeight(for: rows), captionHeight)
        let image = sheet.render(rows)
        XCTAssertEqual(image.width, 5 + 3 * (50 + 5))
        XCTAssertEqual(image.height, 5 + 2 * (40 + captionHeight + 5))
        XCTAssertEqual(image[0, 0], .white)
        // Red image centred in cell (0, 0): x 5 + 5 ..< 5 + 45, y 5 + 10 ..< 5 + 30.
        XCTAssertEqual(image[10, 15], RGBColor(200, 0, 0))
        XCTAssertEqual(image[9, 15], .white)
        XCTAssertEqual(image[10, 14], .white)
        XCTAssertEqual(image[49, 34], RGBColor(200, 0, 0))
        // Blue image fills the height of cell (0, 1): x 60 + 15 ..< 60 + 35.
        XCTAssertEqual(image[75, 5], RGBColor(0, 0, 200))
        XCTAssertEqual(image[75, 44], RGBColor(0, 0, 200))
        XCTAssertEqual(image[74, 20], .white)
    }

    func testCaptionPixelsAreNotWhite() {
        let cell = ContactSheet.Cell(RGBImage(width: 30, height: 30, color: .white), caption: "variant 2")
        let sheet = ContactSheet(cellWidth: 60, cellHeight: 30, margin: 4)
        let image = sheet.render([[cell]])
        let strip = PixelRect(x: 4, y: 4 + 30, width: 60, height: sheet.captionHeight(for: [[cell]]))
        var ink = 0
        for y in 0..<image.height {
            for x in 0..<image.width where image[x, y] != .white {
                XCTAssertTrue(strip.contains(x: x, y: y), "non-white pixel outside the caption at (\(x), \(y))")
                ink += 1
            }
        }
        XCTAssertGreaterThan(ink, 30)
    }

    func testLongCaptionIsCutToTheCell() {
        let caption = String(repeating: "W", count: 50)
        let cell = ContactSheet.Cell(RGBImage(width: 10, height: 10, color: .black), caption: caption)
        let sheet = ContactSheet(cellWidth: 40, cellHeight: 10, margin: 3)
        let image = sheet.render([[cell], [cell]])
        // Nothing is drawn in the margins right of the cells.
        for y in 0..<image.height { for x in 43..<image.width { XCTAssertEqual(image[x, y], .white) } }
    }

    func testLargeImagesShrinkAndNoCaptionStrip() {
        let big = smoothImage(width: 300, height: 150)
        let rows = [[ContactSheet.Cell(big), ContactSheet.Cell(big)]]
        let sheet = ContactSheet.fitting(rows, maxCellSide: 100, margin: 2)
        XCTAssertEqual([sheet.cellWidth, sheet.cellHeight], [100, 50])
        XCTAssertEqual(sheet.captionHeight(for: rows), 0)
        let image = sheet.render(rows)
        XCTAssertEqual([image.width, image.height], [2 + 2 * 102, 2 + 52])
        XCTAssertEqual(image[2, 2], big.resized(width: 100, height: 50)[0, 0])
    }
}
