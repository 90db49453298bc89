import Foundation

/// The activation functions of the SD UNet, VAE and CLIP text encoders.
public enum Activation: String, Sendable, CaseIterable {
    /// x * sigmoid(x) (`nn.SiLU`, transformers "silu"/"swish").
    case silu
    /// Exact GELU with erf (`nn.GELU()`, PyTorch's default; transformers "gelu").
    case gelu
    /// GELU with the tanh approximation (`nn.GELU(approximate="tanh")`; transformers "gelu_new",
    /// "gelu_pytorch_tanh").
    case geluTanh = "gelu_tanh"
    /// x * sigmoid(1.702 x) (transformers "quick_gelu", CLIP ViT-L/14's text encoder).
    case quickGELU = "quick_gelu"

    /// The activation for a transformers/diffusers config name (`hidden_act`, `act_fn`), nil if unknown.
    public init?(configName: String) {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_tanh", "gelu-approximate": self = .geluTanh
        case "quick_gelu": self = .quickGELU
        default: return nil
        }
    }

    @inline(__always)
    func apply(_ x: Vec8) -> Vec8 {
        switch self {
        case .silu: return vxsigmoid(x, 1)
        case .gelu: return vgelu(x)
        case .geluTanh: return vgeluTanh(x)
        case .quickGELU: return vxsigmoid(x, 1.702)
        }
    }
}

extension Tensor {
    /// x * sigmoid(x).
    public func silu() -> Tensor { mapVectorized { vxsigmoid($0, 1) } }

    /// GELU, exact (erf) form: x/2 (1 + erf(x / sqrt 2)).
    public func gelu() -> Tensor { mapVectorized(vgelu) }

    /// GELU, tanh approximation: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
    public func geluTanh() -> Tensor { mapVectorized(vgeluTanh) }

    /// quick_gelu: x * sigmoid(1.702 x).
    public func quickGELU() -> Tensor { mapVectorized { vxsigmoid($0, 1.702) } }

    /// max(x, 0).
    public func relu() -> Tensor { mapVectorized { vmax($0, Vec8()) } }

    /// 1 / (1 + e^-x).
    public func sigmoid() -> Tensor { mapVectorized { 1 / (1 + vexp(-$0)) } }

    /// tanh(x), the C library's, one value at a time (only used on latents, where it is cheap).
    public func tanh() -> Tensor { Tensor(shape: shape, scalars: scalars.map { tanhf($0) }) }

    /// The given activation.
    public func activated(_ activation: Activation) -> Tensor {
        switch activation {
        case .silu: return silu()
        case .gelu: return gelu()
        case .geluTanh: return geluTanh()
        case .quickGELU: return quickGELU()
        }
    }

    /// Applies the activation in place (no new buffer).
    public mutating func activate(_ activation: Activation) {
        let n = count
        withMutablePointer { p in
            let d = SharedPointer(p)
            switch activation {
            case .silu: parallelBlocks(n) { r in vmap(d.base + r.lowerBound, d.base + r.lowerBound, r.count) { vxsigmoid($0, 1) } }
            case .gelu: parallelBlocks(n) { r in vmap(d.base + r.lowerBound, d.base + r.lowerBound, r.count, vgelu) }
            case .geluTanh: parallelBlocks(n) { r in vmap(d.base + r.lowerBound, d.base + r.lowerBound, r.count, vgeluTanh) }
            case .quickGELU: parallelBlocks(n) { r in vmap(d.base + r.lowerBound, d.base + r.lowerBound, r.count) { vxsigmoid($0, 1.702) } }
            }
        }
    }

    /// GEGLU's gating as diffusers computes it after the projection: the last dimension (2D) is split
    /// in half, `hidden, gate = x.chunk(2, dim=-1)`, and the result is `hidden * gelu(gate)`, shape (..., D).
    /// `approximate: true` uses the tanh GELU (diffusers' `GEGLU(approximate="tanh")`).
    public func geglu(approximate: Bool = false) -> Tensor {
        precondition(rank >= 1 && shape[rank - 1] % 2 == 0, "geglu: last dimension of \(shape) must be even")
        let twoD = shape[rank - 1], d = twoD / 2
        let rows = twoD == 0 ? 0 : count / twoD
        var outShape = shape
        outShape[rank - 1] = d
        return Tensor(uninitializedShape: outShape) { out in
            withPointer { src in
                let (s, o) = (SharedPointer(UnsafeMutablePointer(mutating: src)), SharedPointer(out))
                let rowsPerUnit = max(1, (1 << 14) / max(1, d))
                parallelUnits((rows + rowsPerUnit - 1) / rowsPerUnit) { unit in
                    for row in unit * rowsPerUnit..<min(rows, (unit + 1) * rowsPerUnit) {
                        let hidden = s.base + row * twoD, gate = hidden + d, dst = o.base + row * d
                        if approximate {
                            vmap2(hidden, gate, dst, d) { h, g in h * vgeluTanh(g) }
                        } else {
                            vmap2(hidden, gate, dst, d) { h, g in h * vgelu(g) }
                        }
                    }
                }
            }
        }
    }
}
