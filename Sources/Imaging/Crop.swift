extension RGBImage {
    /// The `width` x `height` region whose top-left pixel is (x, y). Throws
    /// `ImagingError.invalidArgument` unless the region is non-empty and lies inside the image.
    public func crop(x: Int, y: Int, width w: Int, height h: Int) throws -> RGBImage {
        guard w > 0, h > 0 else {
            throw ImagingError.invalidArgument("crop size \(w)x\(h) is empty: width and height must be positive")
        }
        guard x >= 0, y >= 0, x.saturatingAdd(w) <= width, y.saturatingAdd(h) <= height else {
            throw ImagingError.invalidArgument(
                "crop of \(w)x\(h) at (\(x), \(y)) does not fit in the \(width)x\(height) image")
        }
        var out = [UInt8](repeating: 0, count: w * h * 3)
        let rowBytes = w * 3
        let sourceWidth = width
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for row in 0..<h {
                    let from = ((y + row) * sourceWidth + x) * 3
                    let to = row * rowBytes
                    for k in 0..<rowBytes { destination[to + k] = source[from + k] }
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// The part of the rectangle (x, y, width, height), in possibly fractional pixels, that lies in
    /// the image, with edges rounded outwards to whole pixels; nil when nothing of it is inside.
    /// Handy for cutting out a detection box that may poke out of the image.
    public func crop(clampingX x: Double, y: Double, width w: Double, height h: Double) -> RGBImage? {
        guard x.isFinite, y.isFinite, w.isFinite, h.isFinite, w > 0, h > 0 else { return nil }
        let x0 = Int(max(0, min(Double(width), x.rounded(.down))))
        let y0 = Int(max(0, min(Double(height), y.rounded(.down))))
        let x1 = Int(max(0, min(Double(width), (x + w).rounded(.up))))
        let y1 = Int(max(0, min(Double(height), (y + h).rounded(.up))))
        guard x1 > x0, y1 > y0 else { return nil }
        return try? crop(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}
