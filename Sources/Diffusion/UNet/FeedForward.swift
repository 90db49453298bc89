import Tensors

/// diffusers' `FeedForward` with `activation_fn="geglu"` (the SD transformer blocks' MLP):
///
///     net.0 = GEGLU: proj Linear(dim, 2 * inner); hidden, gate = chunk(2, dim=-1); hidden * gelu(gate)
///     net.2 = Linear(inner, dim)                 (net.1 is dropout)
///
/// with inner = 4 * dim. Keys: `net.0.proj`, `net.2`.
struct FeedForward: Sendable {
    let projIn: LinearLayer
    let projOut: LinearLayer

    init(_ weights: WeightLoader, dim: Int, multiplier: Int = 4) throws {
        let inner = dim * multiplier
        projIn = try LinearLayer(weights.scoped("net").scoped(0).scoped("proj"), inFeatures: dim, outFeatures: 2 * inner)
        projOut = try LinearLayer(weights.scoped("net").scoped(2), inFeatures: inner, outFeatures: dim)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { projOut(projIn(x).geglu()) }
}
