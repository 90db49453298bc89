import Foundation

/// Numbers for "how different are these two images" (same size required).
public enum ImageComparison {
    /// Largest absolute difference of any channel of any pixel.
    public static func maxAbsDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
        precondition(a.width == b.width && a.height == b.height, "ImageComparison: sizes differ")
        var worst = 0
        for i in a.pixels.indices { worst = max(worst, abs(Int(a.pixels[i]) - Int(b.pixels[i]))) }
        return worst
    }

    /// Mean squared error over all channels.
    public static func meanSquaredError(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height, "ImageComparison: sizes differ")
        guard !a.pixels.isEmpty else { return 0 }
        var sum = 0.0
        for i in a.pixels.indices {
            let d = Double(Int(a.pixels[i]) - Int(b.pixels[i]))
            sum += d * d
        }
        return sum / Double(a.pixels.count)
    }

    /// Peak signal-to-noise ratio in dB (infinity for identical images).
    public static func psnr(_ a: RGBImage, _ b: RGBImage) -> Double {
        let mse = meanSquaredError(a, b)
        return mse == 0 ? .infinity : 10 * log10(255 * 255 / mse)
    }
}
