import Tensors

/// transformers' `CLIPMLP`: fc1 (hidden -> intermediate), the config's `hidden_act`, fc2 (intermediate ->
/// hidden). Keys: `fc1`, `fc2` (`.weight`, `.bias`).
public struct CLIPMLP: Sendable {
    let fc1: LinearLayer
    let fc2: LinearLayer
    public let activation: Activation

    public init(_ weights: WeightLoader, config: CLIPTextConfig) throws {
        fc1 = try LinearLayer(weights.scoped("fc1"), inFeatures: config.hiddenSize, outFeatures: config.intermediateSize)
        fc2 = try LinearLayer(weights.scoped("fc2"), inFeatures: config.intermediateSize, outFeatures: config.hiddenSize)
        activation = config.hiddenAct
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = fc1(x)
        h.activate(activation)
        return fc2(h)
    }
}
