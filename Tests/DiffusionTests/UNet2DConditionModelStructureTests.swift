import XCTest
import Tensors
@testable import Diffusion
import Support

/// Shapes, tap layout and config handling of the UNet on synthetic weights (numerical parity with diffusers is
/// in UNet2DConditionModelParityTests).
final class UNet2DConditionModelStructureTests: XCTestCase {
    private func tinyConfig(linear: Bool) -> UNet2DConditionModelConfig {
        UNet2DConditionModelConfig(blockOutChannels: [8, 16, 16, 24], layersPerBlock: 1, crossAttentionDim: 12,
                                   attentionHeads: [2, 4, 4, 4], useLinearProjection: linear, normNumGroups: 4)
    }

    func testSD2TapChannelsMatchTheAuthorsAdapterInput() {
        XCTAssertEqual(UNetFeatureTaps.channels(for: .sd2Base), [1: 960, 2: 1600, 4: 1920, 8: 3840])
        XCTAssertEqual(UNetFeatureTaps.layout(for: .sd2Base).map(\.name),
                       ["down_blocks.0", "down_blocks.1", "down_blocks.2", "down_blocks.3", "mid_block",
                        "up_blocks.0", "up_blocks.1", "up_blocks.2", "up_blocks.3"])
    }

    func testForwardShapesAndTapsOnSyntheticWeights() throws {
        for linear in [false, true] {
            let config = tinyConfig(linear: linear)
            let unet = try UNet2DConditionModel(config: config, weights: .synthetic(seed: 7))
            // 6 x 10 is not a multiple of 8: the up blocks must upsample to the skips' sizes (3x5 -> 2x3 -> 1x2 and back).
            for (h, w) in [(8, 8), (6, 10)] {
                let sample = Tensor(shape: [2, 4, h, w], scalars: (0..<(2 * 4 * h * w)).map { sin(Float($0)) })
                let context = Tensor(shape: [2, 5, 12], scalars: (0..<120).map { cos(Float($0)) })
                let (out, maybeTaps) = unet.forward(sample, timesteps: [500], encoderHiddenStates: context, tapBatchIndex: 1)
                XCTAssertEqual(out.shape, [2, 4, h, w])
                XCTAssertTrue(out.scalars.allSatisfy(\.isFinite))
                let taps = try XCTUnwrap(maybeTaps)
                XCTAssertEqual(taps.timestep, 500)
                XCTAssertEqual(taps.strides, [1, 2, 4, 8])
                let expectedChannels = UNetFeatureTaps.channels(for: config)
                var size = (h, w)
                for stride in [1, 2, 4, 8] {
                    XCTAssertEqual(taps.byStride[stride]!.shape, [1, expectedChannels[stride]!, size.0, size.1], "stride \(stride)")
                    size = ((size.0 + 1) / 2, (size.1 + 1) / 2)
                }
            }
        }
    }

    func testTapsComeFromTheChosenBatchElement() throws {
        let unet = try UNet2DConditionModel(config: tinyConfig(linear: true), weights: .synthetic(seed: 3))
        let one = Tensor(shape: [1, 4, 8, 8], scalars: (0..<256).map { sin(Float($0) * 0.3) })
        let other = Tensor(shape: [1, 4, 8, 8], scalars: (0..<256).map { cos(Float($0) * 0.7) })
        let ctxOne = Tensor(shape: [1, 3, 12], scalars: (0..<36).map { Float($0) / 36 })
        let ctxOther = Tensor(shape: [1, 3, 12], scalars: (0..<36).map { -Float($0) / 50 })
        let single = unet.forward(one, timesteps: [33], encoderHiddenStates: ctxOne, tapBatchIndex: 0)
        let batched = unet.forward(Tensor.concat([other, one], dim: 0), timesteps: [33],
                                   encoderHiddenStates: Tensor.concat([ctxOther, ctxOne], dim: 0), tapBatchIndex: 1)
        for stride in [1, 2, 4, 8] {
            let a = single.taps!.byStride[stride]!, b = batched.taps!.byStride[stride]!
            XCTAssertEqual(a.shape, b.shape)
            let diff = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(diff, 1e-4, "stride \(stride): the taps of batch element 1 must equal those of the same input alone")
        }
    }

    func testConfigErrorsNameTheFieldAndSayWhatIsSupported() throws {
        func config(_ extra: [String: JSONValue]) -> ComponentConfig {
            var values: [String: JSONValue] = ["_class_name": .string("UNet2DConditionModel"),
                                               "block_out_channels": .array([.int(32), .int(64)]),
                                               "down_block_types": .array([.string("CrossAttnDownBlock2D"), .string("DownBlock2D")]),
                                               "up_block_types": .array([.string("UpBlock2D"), .string("CrossAttnUpBlock2D")]),
                                               "cross_attention_dim": .int(32), "attention_head_dim": .int(4)]
            for (k, v) in extra { values[k] = v }
            return ComponentConfig(file: "/m/unet/config.json", values: values)
        }
        XCTAssertNoThrow(try UNet2DConditionModelConfig(config([:])))
        let sd2 = try UNet2DConditionModelConfig(config(["attention_head_dim": .array([.int(2), .int(4)])]))
        XCTAssertEqual(sd2.attentionHeads, [2, 4])
        let cases: [([String: JSONValue], String, String)] = [
            (["class_embed_type": .string("timestep")], "class_embed_type", "only null"),
            (["down_block_types": .array([.string("SimpleCrossAttnDownBlock2D"), .string("DownBlock2D")])], "down_block_types", "CrossAttnDownBlock2D"),
            (["attention_head_dim": .array([.int(2)])], "attention_head_dim", "one per block"),
            (["attention_head_dim": .int(5)], "attention_head_dim", "do not divide"),
            (["act_fn": .string("gelu")], "act_fn", "silu"),
            (["num_attention_heads": .int(8)], "num_attention_heads", "attention_head_dim"),
            (["norm_num_groups": .int(24)], "norm_num_groups", "multiple"),
        ]
        for (extra, key, phrase) in cases {
            XCTAssertThrowsError(try UNet2DConditionModelConfig(config(extra)), key) { error in
                let e = error as! ModelLoadError
                XCTAssertEqual(e.key, key)
                XCTAssertTrue(e.file.hasSuffix("unet/config.json"))
                XCTAssertTrue("\(e)".contains(phrase), "\(e)")
            }
        }
    }

    func testUpsampleToSizeMatchesPyTorchNearest() {
        // F.interpolate(arange(3).view(1,1,1,3), size=(1,5), mode="nearest") = [0, 0, 1, 1, 2]
        let x = Tensor(shape: [1, 1, 1, 3], scalars: [0, 1, 2])
        XCTAssertEqual(x.upsampledNearest(height: 1, width: 5).scalars, [0, 0, 1, 1, 2])
        XCTAssertEqual(x.upsampledNearest(height: 2, width: 6).scalars, [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])
    }

    func testTimestepEmbeddingFollowsDiffusers() {
        // get_timestep_embedding(t=[0, 10], dim=4, flip_sin_to_cos=False, downscale_freq_shift=1):
        // half 2, freqs exp(-ln(1e4) * [0, 1] / 1) = [1, 1e-4]; emb = [sin(t), sin(1e-4 t), cos(t), cos(1e-4 t)]
        let e = Timesteps(channels: 4, flipSinToCos: false, downscaleFreqShift: 1)([0, 10])
        let expected: [Float] = [0, 0, 1, 1, sin(10), sin(1e-3), cos(10), cos(1e-3)]
        for (a, b) in zip(e.scalars, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        let flipped = Timesteps(channels: 4, flipSinToCos: true, downscaleFreqShift: 1)([10])
        XCTAssertEqual(flipped.scalars[0], cos(10), accuracy: 1e-6)
        XCTAssertEqual(flipped.scalars[2], sin(10), accuracy: 1e-6)
    }
}
