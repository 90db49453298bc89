extension Tensor {
    /// `torch.nn.functional.layer_norm` over the last dimension: each row normalised by its mean and biased
    /// variance (two-pass, Double), then `weight`/`bias` (each the size of the last dimension, optional).
    public func layerNorm(weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
        precondition(rank >= 1, "layerNorm: input needs rank >= 1")
        let d = shape[rank - 1]
        if let weight { precondition(weight.count == d, "layerNorm: weight has \(weight.count) scalars for rows of \(d)") }
        if let bias { precondition(bias.count == d, "layerNorm: bias has \(bias.count) scalars for rows of \(d)") }
        let rows = d == 0 ? 0 : count / d
        let ones = Tensor(repeating: 1, shape: [d]), zeros = Tensor(zeros: [d])
        let w = weight ?? ones, b = bias ?? zeros
        return Tensor(uninitializedShape: shape) { out in
            withPointer { src0 in
                w.withPointer { pw0 in
                    b.withPointer { pb0 in
                        let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                        let pw = SharedPointer(UnsafeMutablePointer(mutating: pw0))
                        let pb = SharedPointer(UnsafeMutablePointer(mutating: pb0))
                        let rowsPerUnit = max(1, (1 << 14) / max(1, d))
                        parallelUnits((rows + rowsPerUnit - 1) / rowsPerUnit) { unit in
                            for row in unit * rowsPerUnit..<min(rows, (unit + 1) * rowsPerUnit) {
                                let from = src.base + row * d, to = dst.base + row * d
                                let (mean, variance) = meanAndVariance(from, d)
                                // ((x - c) - (mean - c)) * rstd * w + b, c = mean rounded to fp32 (x - c exact);
                                // tails go through the same lane arithmetic.
                                let center = Float(mean)
                                let c = Vec8(repeating: center), delta = Vec8(repeating: Float(mean - Double(center)))
                                let r = Vec8(repeating: Float(1 / (variance + Double(eps)).squareRoot()))
                                var i = 0
                                while i + 8 <= d {
                                    store8(((load8(from + i) - c) - delta) * r * load8(pw.base + i) + load8(pb.base + i), to + i)
                                    i += 8
                                }
                                if i < d {
                                    let k = d - i
                                    let v = ((loadPartial(from + i, k) - c) - delta) * r * loadPartial(pw.base + i, k) + loadPartial(pb.base + i, k)
                                    storePartial(v, to + i, k)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
