/// Resampling. Each axis is handled on its own (separable filter):
/// - shrinking: area averaging (box filter over the fractional source coverage of each output
///   pixel), like OpenCV's INTER_AREA and Pillow's BOX filter;
/// - enlarging: bilinear interpolation with pixel centres aligned as OpenCV and Pillow do,
///   src = (dst + 0.5) * scale - 0.5, clamped to the edge pixels;
/// - same size: a copy.
/// All arithmetic is in Double in a fixed order, so results are identical on every machine.
extension RGBImage {
    /// This image resampled to `width` x `height` (both >= 1).
    public func resized(width newWidth: Int, height newHeight: Int) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resized: target size \(newWidth)x\(newHeight) must be positive")
        precondition(width > 0 && height > 0, "resized: cannot resample an empty \(width)x\(height) image")
        if newWidth == width && newHeight == height { return self }

        let horizontal = ResampleAxis(source: width, destination: newWidth)
        let vertical = ResampleAxis(source: height, destination: newHeight)

        // Pass 1: rows, width -> newWidth, kept in Double.
        var middle = [Double](repeating: 0, count: newWidth * height * 3)
        let sourceWidth = width, sourceHeight = height
        pixels.withUnsafeBufferPointer { source in
            middle.withUnsafeMutableBufferPointer { destination in
                for y in 0..<sourceHeight {
                    let sourceRow = y * sourceWidth * 3
                    let destinationRow = y * newWidth * 3
                    for x in 0..<newWidth {
                        var r = 0.0, g = 0.0, b = 0.0
                        let start = horizontal.starts[x]
                        let weightBase = x * horizontal.taps
                        for k in 0..<horizontal.counts[x] {
                            let w = horizontal.weights[weightBase + k]
                            let i = sourceRow + (start + k) * 3
                            r += w * Double(source[i])
                            g += w * Double(source[i + 1])
                            b += w * Double(source[i + 2])
                        }
                        let o = destinationRow + x * 3
                        destination[o] = r
                        destination[o + 1] = g
                        destination[o + 2] = b
                    }
                }
            }
        }

        // Pass 2: columns, height -> newHeight, rounded to 8 bits.
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * 3)
        let rowValues = newWidth * 3
        middle.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for y in 0..<newHeight {
                    let start = vertical.starts[y]
                    let weightBase = y * vertical.taps
                    let count = vertical.counts[y]
                    let destinationRow = y * rowValues
                    for v in 0..<rowValues {
                        var sum = 0.0
                        for k in 0..<count {
                            sum += vertical.weights[weightBase + k] * source[(start + k) * rowValues + v]
                        }
                        destination[destinationRow + v] = roundToByte(sum)
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// Resized so that the shorter side is `shortSide` pixels, keeping the aspect ratio (the other
    /// side is rounded to the nearest pixel, at least 1).
    public func resizedKeepingAspect(shortSide: Int) -> RGBImage {
        precondition(shortSide > 0, "resizedKeepingAspect: shortSide must be positive")
        let size = Self.scaledSize(width: width, height: height, scale: Double(shortSide) / Double(min(width, height)))
        return resized(width: width <= height ? shortSide : size.width, height: width <= height ? size.height : shortSide)
    }

    /// Resized so that the longer side is `longSide` pixels, keeping the aspect ratio.
    public func resizedKeepingAspect(longSide: Int) -> RGBImage {
        precondition(longSide > 0, "resizedKeepingAspect: longSide must be positive")
        let size = Self.scaledSize(width: width, height: height, scale: Double(longSide) / Double(max(width, height)))
        return resized(width: width >= height ? longSide : size.width, height: width >= height ? size.height : longSide)
    }

    /// Resized to the largest size that fits in `maxWidth` x `maxHeight` keeping the aspect ratio.
    /// Without `allowUpscaling`, an image that already fits is returned unchanged.
    public func resizedToFit(maxWidth: Int, maxHeight: Int, allowUpscaling: Bool = false) -> RGBImage {
        let size = Self.fittedSize(width: width, height: height, maxWidth: maxWidth, maxHeight: maxHeight,
                                   allowUpscaling: allowUpscaling)
        return resized(width: size.width, height: size.height)
    }

    /// The size `resizedToFit` would produce.
    public static func fittedSize(width: Int, height: Int, maxWidth: Int, maxHeight: Int,
                                  allowUpscaling: Bool = false) -> (width: Int, height: Int) {
        precondition(maxWidth > 0 && maxHeight > 0, "fittedSize: the box \(maxWidth)x\(maxHeight) must be positive")
        precondition(width > 0 && height > 0, "fittedSize: the image \(width)x\(height) must be non-empty")
        if !allowUpscaling && width <= maxWidth && height <= maxHeight { return (width, height) }
        let scale = min(Double(maxWidth) / Double(width), Double(maxHeight) / Double(height))
        let size = scaledSize(width: width, height: height, scale: scale)
        return (min(maxWidth, size.width), min(maxHeight, size.height))
    }

    static func scaledSize(width: Int, height: Int, scale: Double) -> (width: Int, height: Int) {
        (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }
}

@inline(__always)
func roundToByte(_ value: Double) -> UInt8 {
    let v = (value + 0.5).rounded(.down)
    return v <= 0 ? 0 : (v >= 255 ? 255 : UInt8(v))
}

/// The source pixels and weights that make each output pixel along one axis.
struct ResampleAxis {
    /// First source index for each output index.
    var starts: [Int]
    /// Number of source pixels for each output index.
    var counts: [Int]
    /// `taps` weights per output index (only the first `counts[i]` are used); they sum to 1.
    var weights: [Double]
    var taps: Int

    init(source n: Int, destination m: Int) {
        precondition(n > 0 && m > 0)
        starts = [Int](repeating: 0, count: m)
        counts = [Int](repeating: 0, count: m)
        if m == n {
            taps = 1
            weights = [Double](repeating: 1, count: m)
            for i in 0..<m { starts[i] = i; counts[i] = 1 }
        } else if m < n {
            // Area: output pixel i covers source interval [i * n / m, (i + 1) * n / m).
            taps = (n + m - 1) / m + 1
            weights = [Double](repeating: 0, count: m * taps)
            for i in 0..<m {
                let s = Double(i * n) / Double(m)
                let e = Double((i + 1) * n) / Double(m)
                let first = Int(s.rounded(.down))
                let last = min(n, Int(e.rounded(.up)))
                var collected: [Double] = []
                var firstUsed = -1
                var total = 0.0
                for j in first..<last {
                    let w = min(e, Double(j + 1)) - max(s, Double(j))
                    if w <= 1e-12 { if firstUsed < 0 { continue } else { break } }
                    if firstUsed < 0 { firstUsed = j }
                    collected.append(w)
                    total += w
                }
                starts[i] = firstUsed
                counts[i] = collected.count
                for (k, w) in collected.enumerated() { weights[i * taps + k] = w / total }
            }
        } else {
            // Bilinear: src = (i + 0.5) * n / m - 0.5, clamped to [0, n - 1].
            taps = 2
            weights = [Double](repeating: 0, count: m * 2)
            for i in 0..<m {
                var src = Double((2 * i + 1) * n) / Double(2 * m) - 0.5
                src = min(max(src, 0), Double(n - 1))
                let j0 = Int(src.rounded(.down))
                let f = src - Double(j0)
                starts[i] = j0
                if f == 0 || j0 + 1 >= n {
                    counts[i] = 1
                    weights[i * 2] = 1
                } else {
                    counts[i] = 2
                    weights[i * 2] = 1 - f
                    weights[i * 2 + 1] = f
                }
            }
        }
    }
}
