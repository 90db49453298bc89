import Diffusion
import Tensors

/// The raw outputs of the head on one level: class logits (N, K, h, w), box distances left/top/right/bottom
/// in image pixels (N, 4, h, w) and centerness logits (N, 1, h, w).
public struct FCOSLevelOutput: Sendable {
    public var classLogits: Tensor
    public var distances: Tensor
    public var centerness: Tensor
    /// The level's stride in image pixels.
    public var stride: Int
}

/// FCOS's dense head (docs/adapter.md), shared across levels: class and box towers of ConvNorm + ReLU, then
/// class logits, `relu(scale_l * bbox_pred) * stride_l` distances and centerness (on the box tower).
struct FCOSHead: Sendable {
    let classTower: [ConvNorm]
    let boxTower: [ConvNorm]
    let classLogits: Conv2DLayer
    let boxPrediction: Conv2DLayer
    let centerness: Conv2DLayer
    let scales: [Float]

    init(_ weights: WeightLoader, config: AdapterConfig) throws {
        let c = config.channels
        func tower(_ name: String) throws -> [ConvNorm] {
            try (0..<config.towerConvs).map {
                try ConvNorm(weights.scoped(name).scoped($0), inChannels: c, outChannels: c, kernel: 3, groups: config.normNumGroups, relu: true)
            }
        }
        func conv(_ name: String, _ out: Int) throws -> Conv2DLayer {
            try Conv2DLayer(weights.scoped(name), inChannels: c, outChannels: out, kernel: 3, padding: 1)
        }
        classTower = try tower("cls_tower")
        boxTower = try tower("reg_tower")
        classLogits = try conv("cls_logits", config.classes.count)
        boxPrediction = try conv("bbox_pred", 4)
        centerness = try conv("centerness", 1)
        scales = try weights.tensor("scales", shape: [config.levelStrides.count]).scalars
    }

    func callAsFunction(_ levels: [Tensor], strides: [Int]) -> [FCOSLevelOutput] {
        levels.enumerated().map { l, x in
            let cls = classTower.reduce(x) { $1($0) }
            let box = boxTower.reduce(x) { $1($0) }
            let scale = scales[l], stride = Float(strides[l])
            return FCOSLevelOutput(classLogits: classLogits(cls), distances: (boxPrediction(box) * scale).relu() * stride,
                                   centerness: centerness(box),
                                   stride: strides[l])
        }
    }
}
