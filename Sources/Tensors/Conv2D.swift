import Foundation

/// Zero padding of a feature map's width (left, right) and height (top, bottom), in pixels.
/// `F.pad(x, (left, right, top, bottom))` in PyTorch's order.
public struct Padding2D: Equatable, Sendable {
    public var left: Int
    public var right: Int
    public var top: Int
    public var bottom: Int

    public init(left: Int, right: Int, top: Int, bottom: Int) {
        precondition(left >= 0 && right >= 0 && top >= 0 && bottom >= 0, "Padding2D: negative padding")
        (self.left, self.right, self.top, self.bottom) = (left, right, top, bottom)
    }

    /// The same padding on all four sides (`nn.Conv2d(padding=p)`).
    public init(_ all: Int) { self.init(left: all, right: all, top: all, bottom: all) }

    public static let zero = Padding2D(0)
}

extension Tensor {
    /// `torch.nn.functional.conv2d` with symmetric padding: input (N, C, H, W), weight (O, C, kh, kw),
    /// bias (O). Output (N, O, (H + 2p - kh) / stride + 1, (W + 2p - kw) / stride + 1).
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0) -> Tensor {
        conv2d(weight: weight, bias: bias, stride: stride, padding: Padding2D(padding))
    }

    /// conv2d with explicit, possibly asymmetric zero padding, as `conv(F.pad(x, (l, r, t, b)))` (diffusers'
    /// VAE Downsample2D: pad (0, 1, 0, 1), then a stride-2 3x3 conv with padding 0).
    ///
    /// The algorithm is `Tensor.conv2dAlgorithm`'s choice: 3x3 stride-1 convolutions go through Winograd
    /// where the shape makes it pay (`winograd`, if given, is `weight` already transformed and is used
    /// when its variant is the one chosen; otherwise the weight is transformed for this call);
    /// `DATAENGINE_CONV=im2col` or `=winograd` overrides the choice.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Padding2D,
                       winograd: WinogradFilter? = nil) -> Tensor {
        precondition(rank == 4, "conv2d: input must be (N, C, H, W), got \(shape)")
        precondition(weight.rank == 4, "conv2d: weight must be (O, C, kh, kw), got \(weight.shape)")
        if let winograd {
            precondition(winograd.outputChannels == weight.shape[0] && winograd.inputChannels == weight.shape[1],
                         "conv2d: Winograd filter for \(winograd.outputChannels)x\(winograd.inputChannels) channels, weight \(weight.shape)")
        }
        let algorithm = Tensor.conv2dAlgorithm(input: shape, weight: weight.shape, stride: stride, padding: padding,
                                               pretransformed: winograd?.variant)
        if let winograd, algorithm == .winograd(winograd.variant), weight.shape[1] == shape[1] {
            return conv2d(winograd: winograd, bias: bias, padding: padding)
        }
        return conv2d(weight: weight, bias: bias, stride: stride, padding: padding, using: algorithm)
    }

    /// conv2d by the given algorithm (benchmarks and tests; `conv2d(weight:bias:stride:padding:)` chooses
    /// one itself). `.pointwise` needs a 1x1 stride-1 unpadded weight, `.winograd` a 3x3 stride-1 one.
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Padding2D,
                       using algorithm: Conv2DAlgorithm) -> Tensor {
        switch algorithm {
        case .winograd(let variant):
            precondition(stride == 1, "conv2d: Winograd needs stride 1")
            if let bias { precondition(bias.count == weight.shape[0], "conv2d: bias has \(bias.count) scalars for \(weight.shape[0]) output channels") }
            return conv2dWinograd(weight: weight, bias: bias, padding: padding, variant: variant)
        case .pointwise:
            precondition(weight.rank == 4 && weight.shape[2] == 1 && weight.shape[3] == 1 && stride == 1 && padding == .zero,
                         "conv2d: pointwise needs a 1x1 stride-1 unpadded convolution")
            return conv2dIm2col(weight: weight, bias: bias, stride: stride, padding: padding)
        case .im2col:
            return conv2dIm2col(weight: weight, bias: bias, stride: stride, padding: padding, allowPointwise: false)
        }
    }

    /// conv2d without Winograd. 1x1 stride-1 convolutions are one sgemm per image. Others go through
    /// im2col and sgemm: small planes (deep layers) unfold several images side by side into one product,
    /// then scatter it into (N, O, H, W); large planes are unfolded in column tiles (the buffer stays
    /// bounded) and the product is written straight into the output.
    func conv2dIm2col(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Padding2D,
                      allowPointwise: Bool = true) -> Tensor {
        precondition(rank == 4, "conv2d: input must be (N, C, H, W), got \(shape)")
        precondition(weight.rank == 4, "conv2d: weight must be (O, C, kh, kw), got \(weight.shape)")
        precondition(stride >= 1, "conv2d: stride must be >= 1")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (o, wc, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(wc == c, "conv2d: weight \(weight.shape) expects \(wc) input channels, input has \(c)")
        if let bias { precondition(bias.count == o, "conv2d: bias has \(bias.count) scalars for \(o) output channels") }
        let paddedH = h + padding.top + padding.bottom, paddedW = w + padding.left + padding.right
        precondition(paddedH >= kh && paddedW >= kw, "conv2d: kernel \(kh)x\(kw) larger than padded input \(paddedH)x\(paddedW)")
        let oh = (paddedH - kh) / stride + 1, ow = (paddedW - kw) / stride + 1
        let plane = oh * ow, k = c * kh * kw
        var out = Tensor(uninitializedShape: [n, o, oh, ow]) { po in
            guard let bias else { return }
            bias.withPointer { pb in
                for img in 0..<n {
                    for ch in 0..<o { (po + (img * o + ch) * plane).update(repeating: pb[ch], count: plane) }
                }
            }
        }
        guard out.count > 0 else { return out }
        let beta: Float = bias == nil ? 0 : 1
        let geometry = ConvGeometry(c: c, h: h, w: w, kh: kh, kw: kw, stride: stride, padding: padding, oh: oh, ow: ow)
        withPointer { px in
            weight.withPointer { pw in
                out.withMutablePointer { po in
                    if allowPointwise && kh == 1 && kw == 1 && stride == 1 && padding == .zero {
                        for img in 0..<n {
                            sgemm(m: o, n: plane, k: c, a: pw, lda: c, b: px + img * c * h * w, ldb: plane,
                                  beta: beta, c: po + img * o * plane, ldc: plane)
                        }
                        return
                    }
                    // Unfolded input in column tiles of at most `columnBudget` floats: whole images
                    // batched into one product when they fit (deep layers with small planes: one pass over
                    // the large weight instead of one per image), otherwise parts of one image.
                    let perImage = k * plane
                    let group = Swift.min(n, ConvGeometry.columnBudget / Swift.max(1, perImage))
                    if group >= 2 {
                        let columns = UnsafeMutablePointer<Float>.allocate(capacity: perImage * group)
                        let product = UnsafeMutablePointer<Float>.allocate(capacity: o * plane * group)
                        defer { columns.deallocate(); product.deallocate() }
                        let (cols, prod, output) = (SharedPointer(columns), SharedPointer(product), SharedPointer(po))
                        var first = 0
                        while first < n {
                            let images = Swift.min(group, n - first), width = images * plane
                            let (img0, imageSize) = (first, c * h * w)
                            let source = SharedPointer(UnsafeMutablePointer(mutating: px))
                            parallelRanges(k * images) { units in
                                for unit in units {
                                    let (i, row) = (unit / k, unit % k)
                                    geometry.unfoldRow(row, from: source.base + (img0 + i) * imageSize, columns: 0..<plane,
                                                       into: cols.base + row * width + i * plane)
                                }
                            }
                            sgemm(m: o, n: width, k: k, a: pw, lda: k, b: columns, ldb: width, c: product, ldc: width)
                            // (O, images * plane) -> (images, O, plane), adding the bias already in `out`.
                            parallelRanges(images * o) { units in
                                for unit in units {
                                    let (i, ch) = (unit / o, unit % o)
                                    let to = output.base + ((img0 + i) * o + ch) * plane
                                    let from = prod.base + ch * width + i * plane
                                    if beta == 0 {
                                        to.update(from: from, count: plane)
                                    } else {
                                        vmap2(from, to, to, plane) { $0 + $1 }
                                    }
                                }
                            }
                            first += images
                        }
                        return
                    }
                    let widest = Swift.max(Swift.min(plane, ConvGeometry.columnBudget / Swift.max(1, k)), Swift.min(plane, 16))
                    let tiles = (plane + widest - 1) / widest
                    let tile = (plane + tiles - 1) / tiles   // equal tiles rather than a full one and a sliver
                    let columns = UnsafeMutablePointer<Float>.allocate(capacity: k * tile)
                    defer { columns.deallocate() }
                    let shared = SharedPointer(columns)
                    for img in 0..<n {
                        let image = SharedPointer(UnsafeMutablePointer(mutating: px + img * c * h * w))
                        var p0 = 0
                        while p0 < plane {
                            let count = Swift.min(tile, plane - p0)
                            let start = p0
                            parallelRanges(k) { rows in
                                for row in rows {
                                    geometry.unfoldRow(row, from: image.base, columns: start..<start + count,
                                                       into: shared.base + row * count)
                                }
                            }
                            sgemm(m: o, n: count, k: k, a: pw, lda: k, b: columns, ldb: count,
                                  beta: beta, c: po + img * o * plane + p0, ldc: plane)
                            p0 += count
                        }
                    }
                }
            }
        }
        return out
    }

    /// Zero padding of the last two dimensions of an (N, C, H, W) tensor (`F.pad(x, (l, r, t, b))`).
    public func padded2D(_ padding: Padding2D, value: Float = 0) -> Tensor {
        precondition(rank == 4, "padded2D: input must be (N, C, H, W), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let ph = h + padding.top + padding.bottom, pw = w + padding.left + padding.right
        return Tensor(uninitializedShape: [n, c, ph, pw]) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                parallelUnits(n * c) { planeIndex in
                    let from = src.base + planeIndex * h * w, to = dst.base + planeIndex * ph * pw
                    to.update(repeating: value, count: padding.top * pw)
                    for y in 0..<h {
                        let row = to + (padding.top + y) * pw
                        row.update(repeating: value, count: padding.left)
                        (row + padding.left).update(from: from + y * w, count: w)
                        (row + padding.left + w).update(repeating: value, count: padding.right)
                    }
                    (to + (padding.top + h) * pw).update(repeating: value, count: padding.bottom * pw)
                }
            }
        }
    }
}

/// The index arithmetic of im2col for one convolution.
struct ConvGeometry {
    /// Unfolded-input floats per column tile (32 MB); tests lower it to exercise tiling on small inputs.
    // Unsafe: tests lower it before computing; never written while kernels run.
    nonisolated(unsafe) static var columnBudget = 1 << 23

    let c, h, w, kh, kw, stride: Int
    let padding: Padding2D
    let oh, ow: Int

    /// Writes row `row` = (channel, ky, kx) of the unfolded input for output positions `columns`
    /// (row-major over (oy, ox)): dst[j] = x[channel, oy*s - top + ky, ox*s - left + kx], 0 outside.
    @inline(__always)
    func unfoldRow(_ row: Int, from image: UnsafePointer<Float>, columns: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let channel = row / (kh * kw), ky = (row / kw) % kh, kx = row % kw
        let plane = image + channel * h * w
        // Valid ox range: 0 <= ox*s - left + kx < w.
        let oxLo = Swift.max(0, ceilDiv(padding.left - kx, stride))
        let oxHi = Swift.min(ow, ceilDiv(w + padding.left - kx, stride))   // exclusive
        var p = columns.lowerBound
        var d = dst
        while p < columns.upperBound {
            let oy = p / ow, x0 = p - oy * ow
            let x1 = Swift.min(ow, x0 + (columns.upperBound - p))
            let iy = oy * stride - padding.top + ky
            if iy < 0 || iy >= h || oxLo >= oxHi {
                d.update(repeating: 0, count: x1 - x0)
            } else {
                let src = plane + iy * w
                let lo = Swift.min(Swift.max(x0, oxLo), x1), hi = Swift.max(Swift.min(x1, oxHi), lo)
                if lo > x0 { d.update(repeating: 0, count: lo - x0) }
                let ix0 = lo * stride - padding.left + kx
                if stride == 1 {
                    (d + (lo - x0)).update(from: src + ix0, count: hi - lo)
                } else {
                    var ix = ix0
                    for j in (lo - x0)..<(hi - x0) { d[j] = src[ix]; ix += stride }
                }
                if hi < x1 { (d + (hi - x0)).update(repeating: 0, count: x1 - hi) }
            }
            d += x1 - x0
            p += x1 - x0
        }
    }
}

/// ceil(a / b) for b > 0 and any sign of a.
@inline(__always)
func ceilDiv(_ a: Int, _ b: Int) -> Int {
    a >= 0 ? (a + b - 1) / b : -((-a) / b)
}
