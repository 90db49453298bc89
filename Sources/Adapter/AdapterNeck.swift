import Tensors

/// The neck (docs/adapter.md): per tap group a 1x1 ConvNorm to C channels, and one extra level from a 3x3
/// stride-2 ConvNorm on the raw coarsest group — five levels.
struct AdapterNeck: Sendable {
    let lateral: [ConvNorm]
    let extra: ConvNorm

    init(_ weights: WeightLoader, config: AdapterConfig) throws {
        lateral = try config.tapChannels.enumerated().map { i, c in
            try ConvNorm(weights.scoped("lateral").scoped(i), inChannels: c, outChannels: config.channels, kernel: 1,
                         groups: config.normNumGroups, relu: false)
        }
        extra = try ConvNorm(weights.scoped("extra"), inChannels: config.tapChannels.last!, outChannels: config.channels,
                             kernel: 3, stride: 2, groups: config.normNumGroups, relu: false)
    }

    /// taps in ascending stride -> five levels.
    func callAsFunction(_ taps: [Tensor]) -> [Tensor] {
        zip(lateral, taps).map { $0($1) } + [extra(taps.last!)]
    }
}
