import COpenBLAS

/// C = alpha * op(A) op(B) + beta * C, row-major, through OpenBLAS. op(A) is m x k, op(B) k x n, C m x n.
/// Handles empty sizes (which BLAS would reject) itself.
///
/// OpenBLAS's own threading gives different bits for different thread counts (its partition changes which
/// kernels handle the edges), so OpenBLAS stays at one thread and large products are cut into blocks fixed
/// by their shape alone (`GEMMBlocks`), run on our threads: the same bytes for any thread count.
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        for i in 0..<m {
            let row = c + i * ldc
            for j in 0..<n { row[j] = beta == 0 ? 0 : row[j] * beta }
        }
        return
    }
    _ = singleThreadedBLAS
    let blocks = GEMMBlocks(m: m, n: n, k: k)
    if blocks.count == 1 {
        cblasSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    let (pa, pb, pc) = (SharedPointer(UnsafeMutablePointer(mutating: a)), SharedPointer(UnsafeMutablePointer(mutating: b)), SharedPointer(c))
    parallelUnits(blocks.count) { block in
        let range = blocks.range(block)
        if blocks.alongRows {
            let rowsA = transA ? pa.base + range.lowerBound : pa.base + range.lowerBound * lda
            cblasSgemm(transA, transB, range.count, n, k, alpha, rowsA, lda, pb.base, ldb, beta, pc.base + range.lowerBound * ldc, ldc)
        } else {
            let columnsB = transB ? pb.base + range.lowerBound * ldb : pb.base + range.lowerBound
            cblasSgemm(transA, transB, m, range.count, k, alpha, pa.base, lda, columnsB, ldb, beta, pc.base + range.lowerBound, ldc)
        }
    }
}

/// How `sgemm` cuts a product: along the longer of M and N into at most 8 blocks of at least 64 rows or
/// columns, when it has at least 2^21 multiply-adds (smaller ones are one call). Depends on the shape only.
struct GEMMBlocks {
    static let minimumWork = 1 << 21
    let alongRows: Bool
    let length: Int
    let count: Int

    init(m: Int, n: Int, k: Int) {
        alongRows = m >= n
        length = alongRows ? m : n
        count = m * n * k < Self.minimumWork ? 1 : Swift.max(1, Swift.min(8, length / 64))
    }

    func range(_ block: Int) -> Range<Int> { length * block / count..<length * (block + 1) / count }
}

/// OpenBLAS at one thread for the whole process, set before the first product.
let singleThreadedBLAS: Void = BLASThreads.set(1)

@inline(__always)
private func cblasSgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>, _ lda: Int,
                        _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb), beta, c, blasint(ldc))
}

extension Tensor {
    /// Matrix product over the last two dimensions, like `torch.matmul` for operands of rank >= 2:
    /// `a` is (..., M, K) (or (..., K, M) with `transposeA`), `b` is (..., K, N) (or (..., N, K) with
    /// `transposeB`); leading (batch) dimensions broadcast as in PyTorch. Result (batch..., M, N), times
    /// `alpha`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                              alpha: Float = 1) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul: operands need rank >= 2, got \(a.shape) and \(b.shape)")
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = transposeA ? (ac, ar) : (ar, ac)
        let (kb, n) = transposeB ? (bc, br) : (br, bc)
        precondition(k == kb, "matmul: inner sizes differ: \(a.shape)\(transposeA ? "^T" : "") x \(b.shape)\(transposeB ? "^T" : "")")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = broadcastShapes(batchA, batchB, op: "matmul")
        let batchCount = batch.reduce(1, *)
        var out = Tensor(uninitializedShape: batch + [m, n]) { _ in }
        let aMatrix = ar * ac, bMatrix = br * bc
        a.withPointer { pa in
            b.withPointer { pb in
                out.withMutablePointer { pc in
                    if batchB.isEmpty && !transposeA {
                        // One product: stack all of a's matrices into (batch * M) rows.
                        sgemm(transB: transposeB, m: batchCount * m, n: n, k: k, alpha: alpha,
                              a: pa, lda: ac, b: pb, ldb: bc, c: pc, ldc: n)
                        return
                    }
                    let offsetsA = broadcastOffsets(batchA, into: batch)
                    let offsetsB = broadcastOffsets(batchB, into: batch)
                    for i in 0..<batchCount {
                        sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k, alpha: alpha,
                              a: pa + offsetsA[i] * aMatrix, lda: ac, b: pb + offsetsB[i] * bMatrix, ldb: bc,
                              c: pc + i * m * n, ldc: n)
                    }
                }
            }
        }
        return out
    }

    /// `torch.nn.functional.linear`: self (..., in) times weight^T, weight (out, in) as PyTorch stores it,
    /// plus bias (out). Result (..., out).
    public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
        precondition(weight.rank == 2, "linear: weight must be (out, in), got \(weight.shape)")
        precondition(rank >= 1, "linear: input must have rank >= 1")
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        precondition(shape[rank - 1] == inFeatures, "linear: input \(shape) does not end in \(inFeatures) (weight \(weight.shape))")
        if let bias { precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape), expected [\(outFeatures)]") }
        let rowsShape = Array(shape.dropLast())
        let rows = rowsShape.reduce(1, *)
        var out = Tensor(uninitializedShape: rowsShape + [outFeatures]) { pc in
            if let bias {
                bias.withPointer { pbias in
                    for r in 0..<rows { (pc + r * outFeatures).update(from: pbias, count: outFeatures) }
                }
            }
        }
        withPointer { px in
            weight.withPointer { pw in
                out.withMutablePointer { pc in
                    sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: px, lda: max(1, inFeatures),
                          b: pw, ldb: max(1, inFeatures), beta: bias == nil ? 0 : 1, c: pc, ldc: max(1, outFeatures))
                }
            }
        }
        return out
    }
}

/// PyTorch broadcasting of two shapes (aligned at the right).
func broadcastShapes(_ a: [Int], _ b: [Int], op: String) -> [Int] {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        precondition(da == db || da == 1 || db == 1, "\(op): shapes \(a) and \(b) do not broadcast")
        out[i] = da == 1 ? db : da
    }
    return out
}

/// For each index of `target` (row-major), the linear index into `shape` broadcast to it.
func broadcastOffsets(_ shape: [Int], into target: [Int]) -> [Int] {
    let total = target.reduce(1, *)
    if shape == target { return Array(0..<total) }
    let r = target.count
    var strides = [Int](repeating: 0, count: r)
    var acc = 1
    for i in stride(from: r - 1, through: 0, by: -1) {
        let j = i - (r - shape.count)
        if j >= 0 && shape[j] != 1 { strides[i] = acc }
        if j >= 0 { acc *= shape[j] }
    }
    var offsets = [Int](repeating: 0, count: total)
    var index = [Int](repeating: 0, count: r)
    var offset = 0
    for t in 0..<total {
        offsets[t] = offset
        var d = r - 1
        while d >= 0 {
            index[d] += 1
            offset += strides[d]
            if index[d] < target[d] { break }
            offset -= strides[d] * index[d]
            index[d] = 0
            d -= 1
        }
    }
    return offsets
}
