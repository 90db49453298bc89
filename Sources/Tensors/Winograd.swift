import Foundation

/// A Winograd minimal-filtering algorithm for 3x3, stride-1 convolutions: F(m x m, 3 x 3) computes an
/// m x m block of outputs from an (m + 2) x (m + 2) input tile with (m + 2)^2 multiplications per
/// channel pair instead of 9 m^2 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks").
public enum WinogradVariant: String, Sendable, Equatable, CaseIterable {
    /// F(2x2, 3x3): 4x4 tiles, 16 products per 2x2 outputs (2.25x fewer multiplications); float32 error
    /// close to im2col's.
    case f2x3
    /// F(4x4, 3x3): 6x6 tiles, 36 products per 4x4 outputs (4x fewer multiplications); about 10x
    /// im2col's float32 error (still ~4e-6 of the output's scale at SD sizes).
    case f4x3

    /// Outputs per tile side (m).
    public var outputTile: Int { self == .f2x3 ? 2 : 4 }
    /// Inputs per tile side (alpha = m + 2).
    public var inputTile: Int { outputTile + 2 }
}

/// A 3x3 convolution weight (O, C, 3, 3) transformed for Winograd: (alpha^2) matrices U[xi] of O x C,
/// U = G g G^T per (output, input) channel pair. Transforming costs about one pass over the weight and
/// holds (alpha / 3)^2 times its size (16/9 for F(2,3), 4x for F(4,3)); a layer that runs the same weight
/// many times can make it once and pass it to `Tensor.conv2d(weight:bias:stride:padding:winograd:)` or
/// `Tensor.conv2d(winograd:bias:padding:)` instead of having every call transform the weight again.
public struct WinogradFilter: Sendable {
    public let variant: WinogradVariant
    public let outputChannels: Int
    public let inputChannels: Int
    /// [alpha^2][O][C], row-major.
    let transformed: [Float]

    /// The variant worth transforming a weight for ahead of time, for a convolution with this many channels
    /// and this output plane (padding 1: the input plane), or nil where im2col is faster even then.
    /// `Tensor.conv2d(weight:bias:stride:padding:winograd:)` uses a filter of this variant for such a shape.
    public static func recommendedVariant(inputChannels: Int, outputChannels: Int, outputHeight: Int,
                                          outputWidth: Int) -> WinogradVariant? {
        // Few channels (32 -> 32, 64 -> 64): the transforms cost as much as the products they save. (With
        // 4 -> 320 or 320 -> 4, im2col's product is too thin to run well and Winograd is twice as fast.)
        guard inputChannels + outputChannels >= 160 else { return nil }
        let side = Swift.min(outputHeight, outputWidth)
        if side >= 16 { return .f4x3 }
        if side >= 8 { return .f2x3 }
        return nil
    }

    /// Bytes the transformed weight holds.
    public var byteCount: Int { transformed.count * MemoryLayout<Float>.size }

    /// Transforms `weight`, a (O, C, 3, 3) tensor as PyTorch stores `nn.Conv2d` weights.
    public init(weight: Tensor, variant: WinogradVariant) {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3,
                     "WinogradFilter: weight must be (O, C, 3, 3), got \(weight.shape)")
        let (o, c) = (weight.shape[0], weight.shape[1])
        let alpha = variant.inputTile
        self.variant = variant
        outputChannels = o
        inputChannels = c
        transformed = [Float](unsafeUninitializedCapacity: alpha * alpha * o * c) { buffer, initialized in
            if o * c > 0 {
                weight.withPointer { pw in
                    switch variant {
                    case .f2x3: winogradTransformFilter(F23.self, pw, o: o, c: c, into: buffer.baseAddress!)
                    case .f4x3: winogradTransformFilter(F43.self, pw, o: o, c: c, into: buffer.baseAddress!)
                    }
                }
            }
            initialized = alpha * alpha * o * c
        }
    }
}

/// How `Tensor.conv2d` computes a convolution.
public enum Conv2DAlgorithm: Sendable, Equatable {
    /// 1x1 stride-1 unpadded: one sgemm per image.
    case pointwise
    /// im2col + sgemm.
    case im2col
    /// Winograd (3x3, stride 1).
    case winograd(WinogradVariant)
}

/// The `DATAENGINE_CONV` environment variable, read once: `im2col` forces im2col for every convolution
/// that is not a plain 1x1, `winograd` forces Winograd for every 3x3 stride-1 convolution (F(4,3), or the
/// variant of a filter passed in); unset or `auto` lets `Tensor.conv2dAlgorithm` choose by shape.
public enum Conv2DPreference: String, Sendable {
    case automatic = "auto"
    case im2col
    case winograd

    /// The process's preference from `DATAENGINE_CONV` (read on first use; another value is reported on
    /// standard error and ignored).
    public static let environment: Conv2DPreference = {
        guard let raw = ProcessInfo.processInfo.environment["DATAENGINE_CONV"], !raw.isEmpty else { return .automatic }
        guard let preference = Conv2DPreference(rawValue: raw.lowercased()) else {
            FileHandle.standardError.write(Data("DATAENGINE_CONV=\(raw) ignored: expected auto, im2col or winograd\n".utf8))
            return .automatic
        }
        return preference
    }()

    /// What conv2d follows; tests set it, otherwise `environment`.
    // Unsafe: set by tests and benches before the engine runs, only read while it runs.
    nonisolated(unsafe) static var current: Conv2DPreference = environment
}

extension Tensor {
    /// The algorithm `conv2d` uses for an input of shape (N, C, H, W) and a weight of shape (O, C, kh, kw),
    /// with `pretransformed` the variant of a `WinogradFilter` the caller passes (nil if none).
    ///
    /// 1x1 stride-1 unpadded convolutions are one sgemm per image. 3x3 stride-1 ones (any padding) go
    /// through Winograd where it is faster on this kind of machine (2 cores, OpenBLAS; docs/benchmarks.md):
    /// with C + O >= 160, F(4,3) when the output plane's smaller side is at least 32 and F(2,3) when it is
    /// at least 16, the weight being transformed in the call; given a filter transformed beforehand, that
    /// filter wherever `WinogradFilter.recommendedVariant` names its variant (F(4,3) from 16, F(2,3) from 8).
    /// Everything else is im2col. `DATAENGINE_CONV` overrides the choice.
    public static func conv2dAlgorithm(input: [Int], weight: [Int], stride: Int, padding: Padding2D,
                                       pretransformed: WinogradVariant? = nil) -> Conv2DAlgorithm {
        precondition(input.count == 4 && weight.count == 4, "conv2dAlgorithm: shapes must be 4-D")
        let (kh, kw) = (weight[2], weight[3])
        if kh == 1 && kw == 1 && stride == 1 && padding == .zero { return .pointwise }
        guard kh == 3 && kw == 3 && stride == 1 else { return .im2col }
        let oh = input[2] + padding.top + padding.bottom - 2, ow = input[3] + padding.left + padding.right - 2
        guard oh >= 1 && ow >= 1 else { return .im2col }
        switch Conv2DPreference.current {
        case .im2col: return .im2col
        case .winograd: return .winograd(pretransformed ?? .f4x3)
        case .automatic:
            if let v = winogradChoice(c: input[1], o: weight[0], oh: oh, ow: ow,
                                      pretransformed: pretransformed) {
                return .winograd(v)
            }
            return .im2col
        }
    }

    /// The shape rule (measured with `dataengine bench ops`, see docs/benchmarks.md). A filter transformed
    /// beforehand is used when its variant is the one `WinogradFilter.recommendedVariant` names for the
    /// shape; otherwise the weight would be transformed in the call, which pays less often.
    static func winogradChoice(c: Int, o: Int, oh: Int, ow: Int, pretransformed: WinogradVariant?) -> WinogradVariant? {
        let cached = WinogradFilter.recommendedVariant(inputChannels: c, outputChannels: o, outputHeight: oh, outputWidth: ow)
        if let pretransformed, pretransformed == cached { return cached }
        guard cached != nil else { return nil }
        let side = Swift.min(oh, ow)
        if side >= 32 { return .f4x3 }
        if side >= 16 { return .f2x3 }
        return nil
    }

    /// A 3x3, stride-1 convolution by Winograd with a pre-transformed weight: input (N, C, H, W), output
    /// (N, O, H + top + bottom - 2, W + left + right - 2), plus `bias` (O) if given. Same result as
    /// `conv2d(weight:bias:padding:)` up to float32 rounding.
    public func conv2d(winograd filter: WinogradFilter, bias: Tensor? = nil, padding: Padding2D = Padding2D(1)) -> Tensor {
        precondition(rank == 4, "conv2d: input must be (N, C, H, W), got \(shape)")
        precondition(shape[1] == filter.inputChannels,
                     "conv2d: Winograd filter expects \(filter.inputChannels) input channels, input has \(shape[1])")
        if let bias { precondition(bias.count == filter.outputChannels, "conv2d: bias has \(bias.count) scalars for \(filter.outputChannels) output channels") }
        return filter.transformed.withUnsafeBufferPointer { u in
            // No channels: no storage, and nothing is read from it.
            let base = u.baseAddress ?? UnsafePointer(bitPattern: MemoryLayout<Float>.alignment)!
            return winogradConv(filter: .transformed(base), variant: filter.variant, o: filter.outputChannels,
                                bias: bias, padding: padding)
        }
    }

    /// Winograd convolution transforming `weight` (O, C, 3, 3) on the fly, a block of output channels at
    /// a time (the transformed block stays small enough to be read back from cache by the products).
    func conv2dWinograd(weight: Tensor, bias: Tensor?, padding: Padding2D, variant: WinogradVariant) -> Tensor {
        precondition(weight.rank == 4 && weight.shape[2] == 3 && weight.shape[3] == 3 && weight.shape[1] == shape[1],
                     "conv2d: Winograd needs a (O, \(shape[1]), 3, 3) weight, got \(weight.shape)")
        return weight.withPointer { pw in
            winogradConv(filter: .weight(pw), variant: variant, o: weight.shape[0], bias: bias, padding: padding)
        }
    }

    private func winogradConv(filter: WinogradFilterSource, variant: WinogradVariant, o: Int, bias: Tensor?,
                              padding: Padding2D) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let oh = h + padding.top + padding.bottom - 2, ow = w + padding.left + padding.right - 2
        precondition(oh >= 1 && ow >= 1, "conv2d: kernel 3x3 larger than padded input \(h + padding.top + padding.bottom)x\(w + padding.left + padding.right)")
        var out = Tensor(uninitializedShape: [n, o, oh, ow]) { _ in }
        guard out.count > 0 else { return out }
        let geometry = WinogradGeometry(n: n, c: c, h: h, w: w, o: o, oh: oh, ow: ow, top: padding.top, left: padding.left)
        let biasScalars = bias?.scalars
        withPointer { px in
            out.withMutablePointer { po in
                let run = { (b: UnsafePointer<Float>?) in
                    switch variant {
                    case .f2x3: winogradRun(F23.self, geometry, input: px, filter: filter, bias: b, output: po)
                    case .f4x3: winogradRun(F43.self, geometry, input: px, filter: filter, bias: b, output: po)
                    }
                }
                if let biasScalars { biasScalars.withUnsafeBufferPointer { run($0.baseAddress!) } } else { run(nil) }
            }
        }
        return out
    }
}

// MARK: - Driver

/// The weight as given to the driver: already transformed ([alpha^2][O][C]) or raw (O, C, 3, 3).
enum WinogradFilterSource {
    case transformed(UnsafePointer<Float>)
    case weight(UnsafePointer<Float>)
}

struct WinogradGeometry {
    let n, c, h, w, o, oh, ow, top, left: Int

    /// Transformed input plus products per chunk of tiles, in floats (32 MB); tests lower it.
    // Unsafe (this and the next): tests lower them before computing; never written while kernels run.
    nonisolated(unsafe) static var scratchBudget = 1 << 23
    /// A block of the filter transformed on the fly, in floats (16 MB: it stays in the L3 cache between
    /// its transform and the products that read it); tests lower it.
    nonisolated(unsafe) static var filterBlockBudget = 1 << 22
}

/// Tiles are numbered over (image, tile row, tile column). They are processed in chunks (bounded scratch):
/// for each chunk, the input tiles are transformed into V[xi] (C x tiles); then, for each block of output
/// channels, the alpha^2 products M[xi] = U[xi] V[xi] (block x tiles) are taken by sgemm and M is
/// transformed back into the output. A raw weight is transformed block by block just before its products.
/// Transforms work on 8 tiles at once (one SIMD lane each); every element's arithmetic is the same
/// whichever thread or lane computes it, and chunk and block boundaries depend only on the shapes.
private func winogradRun<K: WinogradKernel>(_: K.Type, _ g: WinogradGeometry, input: UnsafePointer<Float>,
                                            filter: WinogradFilterSource, bias: UnsafePointer<Float>?,
                                            output: UnsafeMutablePointer<Float>) {
    let m = K.m, alpha = K.alpha, xis = alpha * alpha
    let tilesX = (g.ow + m - 1) / m
    let tilesPerImage = tilesX * ((g.oh + m - 1) / m), tiles = g.n * tilesPerImage
    if g.c == 0 {
        // No input channels: the output is the bias.
        for img in 0..<g.n {
            for ch in 0..<g.o {
                (output + (img * g.o + ch) * g.oh * g.ow).update(repeating: bias?[ch] ?? 0, count: g.oh * g.ow)
            }
        }
        return
    }
    // Output-channel blocks within the filter budget, for a raw weight (transformed block by block) and a transformed
    // filter alike: the same blocks and chunks, so the same products and bits whether the filter was kept or not.
    let widestBlock = Swift.max(8, WinogradGeometry.filterBlockBudget / (xis * g.c))
    let blockCount = (g.o + widestBlock - 1) / widestBlock
    let blockRows = (g.o + blockCount - 1) / blockCount
    // Chunk width: a multiple of 8 tiles within the scratch budget, equal chunks.
    let perTile = xis * (g.c + blockRows)
    let widest = Swift.max(8, (WinogradGeometry.scratchBudget / perTile) / 8 * 8)
    let chunks = (tiles + widest - 1) / widest
    let chunkWidth = ((tiles + chunks - 1) / chunks + 7) / 8 * 8
    let vBuffer = UnsafeMutablePointer<Float>.allocate(capacity: xis * g.c * chunkWidth)
    let mBuffer = UnsafeMutablePointer<Float>.allocate(capacity: xis * blockRows * chunkWidth)
    var uBlock: UnsafeMutablePointer<Float>? = nil
    if case .weight = filter { uBlock = .allocate(capacity: xis * blockRows * g.c) }
    defer { vBuffer.deallocate(); mBuffer.deallocate(); uBlock?.deallocate() }
    let (vShared, mShared, outShared) = (SharedPointer(vBuffer), SharedPointer(mBuffer), SharedPointer(output))
    let source = SharedPointer(UnsafeMutablePointer(mutating: input))
    let biasShared = bias.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }

    var t0 = 0
    while t0 < tiles {
        let count = Swift.min(chunkWidth, tiles - t0)
        let ld = (count + 7) / 8 * 8   // row length of V and M; the last block's spare lanes are zeros
        let laneBlocks = ld / 8
        let first = t0
        // Input transform: unit = (input channel, block of 8 tiles).
        parallelRanges(g.c * laneBlocks) { units in
            // patch: the tile's alpha^2 vectors, then as many for the transform's middle step; then a
            // zero-padded alpha x alpha copy per lane for tiles that cross the border (or lie past the chunk).
            let patch = UnsafeMutablePointer<Vec8>.allocate(capacity: 2 * xis + xis)
            let rowPointers = UnsafeMutablePointer<UnsafePointer<Float>>.allocate(capacity: 8 * alpha)
            defer { patch.deallocate(); rowPointers.deallocate() }
            let borderPatches = UnsafeMutableRawPointer(patch + 2 * xis).assumingMemoryBound(to: Float.self)
            for unit in units {
                let (ch, block) = (unit / laneBlocks, unit % laneBlocks)
                let plane = source.base + ch * g.h * g.w   // image 0's plane of this channel
                for lane in 0..<8 {
                    let t = first + block * 8 + lane
                    let own = borderPatches + lane * xis
                    guard t < first + count else {
                        own.update(repeating: 0, count: xis)
                        for i in 0..<alpha { rowPointers[lane * alpha + i] = UnsafePointer(own + i * alpha) }
                        continue
                    }
                    let img = t / tilesPerImage, r = t % tilesPerImage
                    let y0 = (r / tilesX) * m - g.top, x0 = (r % tilesX) * m - g.left
                    let src = plane + img * g.c * g.h * g.w
                    if y0 >= 0 && x0 >= 0 && y0 + alpha <= g.h && x0 + alpha <= g.w {
                        for i in 0..<alpha { rowPointers[lane * alpha + i] = UnsafePointer(src + (y0 + i) * g.w + x0) }
                    } else {
                        for i in 0..<alpha {
                            let y = y0 + i
                            for j in 0..<alpha {
                                let x = x0 + j
                                own[i * alpha + j] = y >= 0 && y < g.h && x >= 0 && x < g.w ? src[y * g.w + x] : 0
                            }
                            rowPointers[lane * alpha + i] = UnsafePointer(own + i * alpha)
                        }
                    }
                }
                // Gather in registers (scalar stores followed by vector loads would stall on forwarding).
                for i in 0..<alpha {
                    let (r0, r1, r2, r3) = (rowPointers[i], rowPointers[alpha + i], rowPointers[2 * alpha + i], rowPointers[3 * alpha + i])
                    let (r4, r5, r6, r7) = (rowPointers[4 * alpha + i], rowPointers[5 * alpha + i], rowPointers[6 * alpha + i], rowPointers[7 * alpha + i])
                    for j in 0..<alpha {
                        patch[i * alpha + j] = Vec8(r0[j], r1[j], r2[j], r3[j], r4[j], r5[j], r6[j], r7[j])
                    }
                }
                let t = patch + xis
                // B^T d B: columns, then rows.
                for j in 0..<alpha { K.input(patch + j, alpha, t + j, alpha) }
                for i in 0..<alpha { K.input(t + i * alpha, 1, patch + i * alpha, 1) }
                let dst = vShared.base + ch * ld + block * 8
                for xi in 0..<xis {
                    UnsafeMutableRawPointer(dst + xi * g.c * ld).storeBytes(of: patch[xi], as: Vec8.self)
                }
            }
        }
        var o0 = 0
        while o0 < g.o {
            let rows = Swift.min(blockRows, g.o - o0)
            let (a, matrixStride): (UnsafePointer<Float>, Int)
            switch filter {
            case .transformed(let u):
                (a, matrixStride) = (u + o0 * g.c, g.o * g.c)
            case .weight(let weight):
                winogradTransformFilter(K.self, weight + o0 * g.c * 9, o: rows, c: g.c, into: uBlock!)
                (a, matrixStride) = (UnsafePointer(uBlock!), rows * g.c)
            }
            for xi in 0..<xis {
                sgemm(m: rows, n: count, k: g.c, a: a + xi * matrixStride, lda: g.c,
                      b: vBuffer + xi * g.c * ld, ldb: ld, c: mBuffer + xi * rows * ld, ldc: ld)
            }
            // Output transform: unit = (output channel of the block, block of 8 tiles).
            let firstChannel = o0
            parallelRanges(rows * laneBlocks) { units in
                let patch = UnsafeMutablePointer<Vec8>.allocate(capacity: 2 * xis)
                defer { patch.deallocate() }
                let lanes = UnsafeMutableRawPointer(patch).assumingMemoryBound(to: Float.self)
                for unit in units {
                    let (row, block) = (unit / laneBlocks, unit % laneBlocks)
                    let ch = firstChannel + row
                    let src = mShared.base + row * ld + block * 8
                    for xi in 0..<xis {
                        patch[xi] = UnsafeRawPointer(src + xi * rows * ld).loadUnaligned(as: Vec8.self)
                    }
                    let t = patch + xis
                    // A^T M A: columns (alpha -> m rows), then rows (alpha -> m columns).
                    for j in 0..<alpha { K.output(patch + j, alpha, t + j, alpha) }
                    for i in 0..<m { K.output(t + i * alpha, 1, patch + i * m, 1) }
                    if let biasShared {
                        let b = Vec8(repeating: biasShared.base[ch])
                        for e in 0..<(m * m) { patch[e] += b }
                    }
                    for lane in 0..<8 {
                        let tile = first + block * 8 + lane
                        guard tile < first + count else { break }
                        let img = tile / tilesPerImage, r = tile % tilesPerImage
                        let y0 = (r / tilesX) * m, x0 = (r % tilesX) * m
                        let height = Swift.min(m, g.oh - y0), width = Swift.min(m, g.ow - x0)
                        let dst = outShared.base + ((img * g.o + ch) * g.oh + y0) * g.ow + x0
                        for i in 0..<height {
                            for j in 0..<width { dst[i * g.ow + j] = lanes[(i * m + j) * 8 + lane] }
                        }
                    }
                }
            }
            o0 += rows
        }
        t0 += count
    }
}

/// U[xi][o][c] = (G g G^T)[xi] for weight g (O, C, 3, 3); 8 input channels at a time.
private func winogradTransformFilter<K: WinogradKernel>(_: K.Type, _ weight: UnsafePointer<Float>, o: Int, c: Int,
                                                        into u: UnsafeMutablePointer<Float>) {
    let alpha = K.alpha, xis = alpha * alpha
    let blocks = (c + 7) / 8
    let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: weight)), SharedPointer(u))
    parallelRanges(o * blocks) { units in
        let patch = UnsafeMutablePointer<Vec8>.allocate(capacity: 9 + 3 * alpha + xis)
        defer { patch.deallocate() }
        let rowsDone = patch + 9, result = patch + 9 + 3 * alpha
        for unit in units {
            let (oc, block) = (unit / blocks, unit % blocks)
            let width = Swift.min(8, c - block * 8)
            let g = src.base + (oc * c + block * 8) * 9
            let last = width - 1   // spare lanes repeat the last channel
            let (l1, l2, l3) = (Swift.min(1, last) * 9, Swift.min(2, last) * 9, Swift.min(3, last) * 9)
            let (l4, l5, l6, l7) = (Swift.min(4, last) * 9, Swift.min(5, last) * 9, Swift.min(6, last) * 9, Swift.min(7, last) * 9)
            for e in 0..<9 {
                patch[e] = Vec8(g[e], g[l1 + e], g[l2 + e], g[l3 + e], g[l4 + e], g[l5 + e], g[l6 + e], g[l7 + e])
            }
            // G g G^T: columns (3 -> alpha rows), then rows (3 -> alpha columns).
            for j in 0..<3 { K.filter(patch + j, 3, rowsDone + j, 3) }
            for i in 0..<alpha { K.filter(rowsDone + i * 3, 1, result + i * alpha, 1) }
            let out = dst.base + oc * c + block * 8
            if width == 8 {
                for xi in 0..<xis { UnsafeMutableRawPointer(out + xi * o * c).storeBytes(of: result[xi], as: Vec8.self) }
            } else {
                for xi in 0..<xis {
                    let v = result[xi], to = out + xi * o * c
                    for lane in 0..<width { to[lane] = v[lane] }
                }
            }
        }
    }
}

// MARK: - Kernels

/// The 1-D transforms of one F(m, 3): each reads its inputs at p[0], p[s], p[2s], ... and writes its
/// outputs at q[0], q[t], ...
protocol WinogradKernel {
    static var m: Int { get }
    static var alpha: Int { get }
    /// B^T d: alpha -> alpha.
    static func input(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int)
    /// G g: 3 -> alpha.
    static func filter(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int)
    /// A^T M: alpha -> m.
    static func output(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int)
}

/// F(2, 3) with interpolation points 0, 1, -1, infinity.
enum F23: WinogradKernel {
    static var m: Int { 2 }
    static var alpha: Int { 4 }

    @inline(__always)
    static func input(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (d0, d1, d2, d3) = (p[0], p[s], p[2 * s], p[3 * s])
        q[0] = d0 - d2
        q[t] = d1 + d2
        q[2 * t] = d2 - d1
        q[3 * t] = d1 - d3
    }

    @inline(__always)
    static func filter(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (g0, g1, g2) = (p[0], p[s], p[2 * s])
        let even = (g0 + g2) * 0.5, odd = g1 * 0.5
        q[0] = g0
        q[t] = even + odd
        q[2 * t] = even - odd
        q[3 * t] = g2
    }

    @inline(__always)
    static func output(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (m0, m1, m2, m3) = (p[0], p[s], p[2 * s], p[3 * s])
        q[0] = m0 + m1 + m2
        q[t] = m1 - m2 - m3
    }
}

/// F(4, 3) with interpolation points 0, 1, -1, 1/2, -2 and infinity. Lavin's points (0, +-1, +-2) give
/// about 3x the float32 error at SD sizes (max |diff| / max |output| ~1e-5 against im2col, here ~4e-6):
/// swapping 2 for 1/2 keeps the transforms' entries closer to 1 (Barabasz et al., "Error analysis and
/// improving the accuracy of Winograd convolution for deep neural networks").
enum F43: WinogradKernel {
    static var m: Int { 4 }
    static var alpha: Int { 6 }

    /// B^T = [1, -3/2, -2, 3/2, 1, 0; 0, -1, 1/2, 5/2, 1, 0; 0, 1, -5/2, 1/2, 1, 0;
    ///        0, -2, -1, 2, 1, 0; 0, 1/2, -1, -1/2, 1, 0; 0, 1, -3/2, -2, 3/2, 1]
    @inline(__always)
    static func input(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (d0, d1, d2, d3, d4, d5) = (p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s])
        let a = d4 - d2, b = d3 - d1
        q[0] = d0 + d4 - 2 * d2 + 1.5 * b
        q[t] = d4 - d1 + 0.5 * d2 + 2.5 * d3
        q[2 * t] = d4 + d1 - 2.5 * d2 + 0.5 * d3
        q[3 * t] = a + 2 * b
        q[4 * t] = a - 0.5 * b
        q[5 * t] = d5 + d1 - 2 * d3 + 1.5 * a
    }

    /// G = [1, 0, 0; 1/3, 1/3, 1/3; -1/3, 1/3, -1/3; -16/15, -8/15, -4/15; 1/15, -2/15, 4/15; 0, 0, 1]
    @inline(__always)
    static func filter(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (g0, g1, g2) = (p[0], p[s], p[2 * s])
        let even = (g0 + g2) * (1 / 3 as Float), odd = g1 * (1 / 3 as Float)
        q[0] = g0
        q[t] = even + odd
        q[2 * t] = odd - even
        q[3 * t] = (4 * g0 + 2 * g1 + g2) * (-4 / 15 as Float)
        q[4 * t] = (g0 - 2 * g1 + 4 * g2) * (1 / 15 as Float)
        q[5 * t] = g2
    }

    /// A^T = [1, 1, 1, 1, 1, 0; 0, 1, -1, 1/2, -2, 0; 0, 1, 1, 1/4, 4, 0; 0, 1, -1, 1/8, -8, 1]
    @inline(__always)
    static func output(_ p: UnsafePointer<Vec8>, _ s: Int, _ q: UnsafeMutablePointer<Vec8>, _ t: Int) {
        let (m0, m1, m2, m3, m4, m5) = (p[0], p[s], p[2 * s], p[3 * s], p[4 * s], p[5 * s])
        let a = m1 + m2, b = m1 - m2
        q[0] = m0 + a + m3 + m4
        q[t] = b + 0.5 * m3 - 2 * m4
        q[2 * t] = a + 0.25 * m3 + 4 * m4
        q[3 * t] = b + 0.125 * m3 - 8 * m4 + m5
    }
}
