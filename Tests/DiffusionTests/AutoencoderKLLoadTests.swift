import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// Loading errors of AutoencoderKL: config values and weight keys that do not fit are named, with the file.
final class AutoencoderKLLoadTests: XCTestCase {
    private func loadError(_ folder: URL, file: StaticString = #filePath, line: UInt = #line) -> ModelLoadError? {
        do {
            _ = try AutoencoderKL(folder: folder)
            XCTFail("loading \(folder.path) should fail", file: file, line: line)
            return nil
        } catch let error as ModelLoadError {
            return error
        } catch {
            XCTFail("expected a ModelLoadError, got \(error)", file: file, line: line)
            return nil
        }
    }

    private func replacingFirst(_ old: String, _ new: String) -> (String) -> String {
        { text in
            guard let range = text.range(of: old) else { XCTFail("`\(old)` not in config"); return text }
            return text.replacingCharacters(in: range, with: new)
        }
    }

    func testUnsupportedDownBlockTypeNamesItAndListsSupported() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, config: replacingFirst("\"DownEncoderBlock2D\"", "\"AttnDownEncoderBlock2D\""))
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, "down_block_types")
        XCTAssertTrue(error.file.hasSuffix("vae/config.json"), error.file)
        XCTAssertTrue(error.message.contains("`AttnDownEncoderBlock2D`"), error.message)
        XCTAssertTrue(error.message.contains("supported: DownEncoderBlock2D"), error.message)
    }

    func testUnsupportedUpBlockType() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, config: replacingFirst("\"UpDecoderBlock2D\"", "\"AttnUpDecoderBlock2D\""))
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, "up_block_types")
        XCTAssertTrue(error.message.contains("`AttnUpDecoderBlock2D`") && error.message.contains("supported: UpDecoderBlock2D"), error.message)
    }

    func testUnsupportedActivation() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, config: replacingFirst("\"silu\"", "\"gelu\""))
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, "act_fn")
        XCTAssertTrue(error.message.contains("`gelu`") && error.message.contains("supported: silu"), error.message)
    }

    func testGroupsThatDoNotDivideChannels() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, config: replacingFirst("\"norm_num_groups\": 32", "\"norm_num_groups\": 24"))
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, "norm_num_groups")
        XCTAssertTrue(error.message.contains("24 groups do not divide 32 channels"), error.message)
    }

    func testOtherVAEClassIsRefused() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, config: replacingFirst("\"AutoencoderKL\"", "\"AutoencoderTiny\""))
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, "_class_name")
        XCTAssertTrue(error.message.contains("AutoencoderTiny"), error.message)
    }

    func testMissingWeightNamesFullKeyAndFile() throws {
        let key = "encoder.mid_block.attentions.0.to_q.weight"
        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { $0[key] = nil })
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, key)
        XCTAssertTrue(error.file.hasSuffix("vae/diffusion_pytorch_model.safetensors"), error.file)
        XCTAssertTrue(error.message.contains("missing weight"), error.message)
        XCTAssertTrue(error.description.contains(key) && error.description.contains("diffusion_pytorch_model.safetensors"), error.description)
    }

    func testMisShapedWeightSaysExpectedAndFound() throws {
        let key = "decoder.conv_in.weight"
        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { $0[key] = Tensor(zeros: [64, 4, 1, 1]) })
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertEqual(error.key, key)
        XCTAssertTrue(error.file.hasSuffix("vae/diffusion_pytorch_model.safetensors"), error.file)
        XCTAssertTrue(error.message.contains("expected [64, 4, 3, 3], found [64, 4, 1, 1]"), error.message)
    }

    func testUnexpectedWeightIsNamed() throws {
        let key = "decoder.up_blocks.1.upsamplers.0.conv.weight"   // the last up block has no upsampler
        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { $0[key] = Tensor(zeros: [32, 32, 3, 3]) })
        let error = try XCTUnwrap(loadError(folder))
        XCTAssertTrue(error.message.contains("1 unexpected key") && error.message.contains(key), error.message)
    }

    func testMissingQuantConvIsNamed() throws {
        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { $0["quant_conv.bias"] = nil })
        XCTAssertEqual(loadError(folder)?.key, "quant_conv.bias")
    }

    /// Checkpoints from old diffusers versions name the attention projections query/key/value/proj_attn.
    func testDeprecatedAttentionNamesLoadTheSameModel() throws {
        let renames = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]
        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { tensors in
            for (name, t) in tensors where name.contains(".attentions.") {
                for (new, old) in renames where name.contains(".\(new).") {
                    tensors[name] = nil
                    tensors[name.replacingOccurrences(of: ".\(new).", with: ".\(old).")] = t
                }
            }
        })
        let old = try AutoencoderKL(folder: folder)
        let current = try AutoencoderKL(folder: VAEParityFixtures.folder("sd1-like").appendingPathComponent("vae"))
        let ref = try VAEParityFixtures.expected("sd1-like")
        let image = try ref.tensor("image")
        XCTAssertEqual(old.encode(image).mean, current.encode(image).mean)
    }

    /// `mid_block_add_attention: false` builds mid blocks without attention and expects no attention weights.
    func testMidBlockWithoutAttention() throws {
        let config = replacingFirst("\"mid_block_add_attention\": true", "\"mid_block_add_attention\": false")
        let withKeys = try VAEParityFixtures.editedVAEFolder(self, config: config)
        let error = try XCTUnwrap(loadError(withKeys))
        XCTAssertTrue(error.message.contains("encoder.mid_block.attentions.0.group_norm.bias"), error.message)

        let folder = try VAEParityFixtures.editedVAEFolder(self, weights: { tensors in
            for name in tensors.keys where name.contains(".attentions.") { tensors[name] = nil }
        }, config: config)
        let vae = try AutoencoderKL(folder: folder)
        XCTAssertFalse(vae.config.midBlockAddAttention)
        XCTAssertTrue(vae.encoder.midBlock.attentions.isEmpty)
        let image = try VAEParityFixtures.expected("sd1-like").tensor("image")
        let posterior = vae.encode(image)
        XCTAssertEqual(posterior.mean.shape, [2, 4, 8, 8])
        XCTAssertEqual(vae.decode(posterior.mean).shape, [2, 3, 16, 16])
    }

    func testConfigDefaultsWhenFieldsAreAbsent() throws {
        let config = try AutoencoderKLConfig(ComponentConfig(file: "vae/config.json", values: ["_class_name": .string("AutoencoderKL")]))
        XCTAssertEqual(config.blockOutChannels, [64])
        XCTAssertEqual(config.downBlockTypes, ["DownEncoderBlock2D"])
        XCTAssertEqual(config.layersPerBlock, 1)
        XCTAssertEqual(config.latentChannels, 4)
        XCTAssertEqual(config.normNumGroups, 32)
        XCTAssertEqual(config.scalingFactor, 0.18215)
        XCTAssertNil(config.shiftFactor)
        XCTAssertTrue(config.useQuantConv && config.usePostQuantConv && config.midBlockAddAttention)
    }
}
