extension Tensor {
    /// `torch.nn.functional.group_norm` on (N, C, *) input: channels split into `groups` groups of C/groups,
    /// each (sample, group) normalised by its mean and biased variance, then the per-channel affine
    /// `weight`/`bias` (C each, optional). Statistics are two-pass in Double. With `fusedSiLU` the SiLU that
    /// follows every group norm in the SD ResNet blocks is applied in the same pass.
    public func groupNorm(groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5,
                          fusedSiLU: Bool = false) -> Tensor {
        precondition(rank >= 2, "groupNorm: input must be (N, C, ...), got \(shape)")
        let (n, c) = (shape[0], shape[1])
        precondition(groups > 0 && c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
        if let weight { precondition(weight.count == c, "groupNorm: weight has \(weight.count) scalars for \(c) channels") }
        if let bias { precondition(bias.count == c, "groupNorm: bias has \(bias.count) scalars for \(c) channels") }
        let spatial = c == 0 || n == 0 ? 0 : count / (n * c)
        let perGroup = c / groups
        return Tensor(uninitializedShape: shape) { out in
            withPointer { src0 in
                let src = SharedPointer(UnsafeMutablePointer(mutating: src0)), dst = SharedPointer(out)
                let w = weight?.scalars, b = bias?.scalars
                parallelUnits(n * groups) { unit in
                    let g = unit % groups
                    let base = unit * perGroup * spatial
                    let (mean, variance) = meanAndVariance(src.base + base, perGroup * spatial)
                    let rstd = 1 / (variance + Double(eps)).squareRoot()
                    // ((x - c) - (mean - c)) * (rstd * gamma) + beta with c = mean rounded to fp32: x - c is
                    // exact, so a large common offset costs no precision (x * scale + shift would).
                    let center = Float(mean)
                    let (vc, vd) = (Vec8(repeating: center), Vec8(repeating: Float(mean - Double(center))))
                    for k in 0..<perGroup {
                        let ch = g * perGroup + k
                        let vs = Vec8(repeating: Float(rstd * Double(w?[ch] ?? 1))), vb = Vec8(repeating: b?[ch] ?? 0)
                        let from = src.base + base + k * spatial, to = dst.base + base + k * spatial
                        if fusedSiLU {
                            vmap(from, to, spatial) { vxsigmoid((($0 - vc) - vd) * vs + vb, 1) }
                        } else {
                            vmap(from, to, spatial) { (($0 - vc) - vd) * vs + vb }
                        }
                    }
                }
            }
        }
    }
}
