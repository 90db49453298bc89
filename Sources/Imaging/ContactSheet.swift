/// A grid of images on a white background, each cell with an optional one-line caption under it,
/// for `preview.jpg`s: one row per example, e.g. reference | variant 1 | variant 2 | ...
///
/// Layout: every cell is `cellWidth` x `cellHeight` pixels plus a caption strip (only when some
/// cell has a caption); cells are separated from each other and from the border by `margin`.
/// Images are scaled down (and, with `upscale`, up) to fit their cell keeping the aspect ratio and
/// centred in it; captions are centred under the cell and cut with ".." to the cell width.
public struct ContactSheet: Sendable {
    /// One cell: an image (nil leaves the cell blank) and a caption.
    public struct Cell: Sendable {
        public var image: RGBImage?
        public var caption: String?

        public init(_ image: RGBImage?, caption: String? = nil) {
            self.image = image
            self.caption = caption
        }
    }

    public var cellWidth: Int
    public var cellHeight: Int
    public var margin: Int
    /// Font scale of the captions (1: 5x7 pixel glyphs).
    public var fontScale: Int
    /// Enlarge images smaller than the cell.
    public var upscale: Bool
    public var background: RGBColor = .white
    public var captionColor: RGBColor = .black
    /// Colour of a thin frame drawn around blank (nil) cells; nil draws none.
    public var placeholderColor: RGBColor? = RGBColor(220, 220, 220)

    public init(cellWidth: Int, cellHeight: Int, margin: Int = 8, fontScale: Int = 1, upscale: Bool = false) {
        precondition(cellWidth > 0 && cellHeight > 0, "ContactSheet: cell size \(cellWidth)x\(cellHeight) must be positive")
        precondition(margin >= 0 && fontScale > 0, "ContactSheet: margin must be >= 0 and fontScale > 0")
        self.cellWidth = cellWidth
        self.cellHeight = cellHeight
        self.margin = margin
        self.fontScale = fontScale
        self.upscale = upscale
    }

    /// A sheet whose cells are just large enough for the largest image of `rows` after shrinking
    /// it to fit `maxCellSide` x `maxCellSide`.
    public static func fitting(_ rows: [[Cell]], maxCellSide: Int = 256, margin: Int = 8, fontScale: Int = 1) -> ContactSheet {
        var w = 1, h = 1
        for cell in rows.joined() {
            guard let image = cell.image, image.width > 0, image.height > 0 else { continue }
            let size = RGBImage.fittedSize(width: image.width, height: image.height,
                                           maxWidth: maxCellSide, maxHeight: maxCellSide)
            w = max(w, size.width)
            h = max(h, size.height)
        }
        return ContactSheet(cellWidth: w, cellHeight: h, margin: margin, fontScale: fontScale)
    }

    /// Height of the caption strip under each cell (0 when no cell has a caption).
    public func captionHeight(for rows: [[Cell]]) -> Int {
        let hasCaption = rows.joined().contains { !($0.caption ?? "").isEmpty }
        return hasCaption ? BitmapFont.glyphHeight * fontScale + 2 * captionGap : 0
    }

    /// Pixels between a cell's image area and its caption (and below the caption).
    public var captionGap: Int { 2 * fontScale }

    /// The size of the rendered sheet.
    public func size(for rows: [[Cell]]) -> (width: Int, height: Int) {
        let columns = rows.map(\.count).max() ?? 0
        let width = margin + columns * (cellWidth + margin)
        let height = margin + rows.count * (cellHeight + captionHeight(for: rows) + margin)
        return (max(width, 1), max(height, 1))
    }

    /// The rectangle of the cell at (row, column) in the rendered sheet (image area only).
    public func cellRect(row: Int, column: Int, captionHeight: Int) -> PixelRect {
        PixelRect(x: margin + column * (cellWidth + margin),
                  y: margin + row * (cellHeight + captionHeight + margin),
                  width: cellWidth, height: cellHeight)
    }

    /// Renders the sheet.
    public func render(_ rows: [[Cell]]) -> RGBImage {
        let size = size(for: rows)
        let captionHeight = captionHeight(for: rows)
        var sheet = RGBImage(width: size.width, height: size.height, color: background)
        for (r, row) in rows.enumerated() {
            for (c, cell) in row.enumerated() {
                let rect = cellRect(row: r, column: c, captionHeight: captionHeight)
                if let image = cell.image, image.width > 0, image.height > 0 {
                    let fitted = image.resizedToFit(maxWidth: cellWidth, maxHeight: cellHeight, allowUpscaling: upscale)
                    sheet.paste(fitted, x: rect.x + (cellWidth - fitted.width) / 2,
                                y: rect.y + (cellHeight - fitted.height) / 2)
                } else if let placeholderColor {
                    sheet.drawRectangle(rect, color: placeholderColor, thickness: 1)
                }
                if let caption = cell.caption, !caption.isEmpty {
                    let text = BitmapFont.truncate(caption, toWidth: cellWidth, scale: fontScale)
                    let textWidth = BitmapFont.width(of: text, scale: fontScale)
                    sheet.drawText(text, x: rect.x + (cellWidth - textWidth) / 2, y: rect.maxY + captionGap,
                                   color: captionColor, scale: fontScale)
                }
            }
        }
        return sheet
    }
}
