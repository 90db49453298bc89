import Foundation
import XCTest
import Tensors
@testable import Diffusion

/// Tests/DiffusionTests/Fixtures/model-folder (made by tools/make_safetensors_fixtures.py).
enum ModelFolderFixtures {
    static var directory: URL {
        if let resources = Bundle.module.resourceURL?.appendingPathComponent("Fixtures/model-folder"),
           FileManager.default.fileExists(atPath: resources.path) {
            return resources
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/model-folder")
    }

    static var tinySD: URL { directory.appendingPathComponent("tiny-sd") }

    /// A fresh temporary directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-folder-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    static func write(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }
}

final class ModelFolderTests: XCTestCase {
    func testModelIndexComponents() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        XCTAssertEqual(folder.pipelineClassName, "StableDiffusionPipeline")
        XCTAssertEqual(folder.diffusersVersion, "0.30.0")
        XCTAssertEqual(folder.components.map(\.name), [
            "feature_extractor", "image_encoder", "safety_checker", "scheduler", "text_encoder", "tokenizer", "unet", "vae",
        ], "`requires_safety_checker: false` is a setting, not a component")
        XCTAssertEqual(folder.entry("unet"), .init(name: "unet", library: "diffusers", className: "UNet2DConditionModel"))
        XCTAssertEqual(folder.entry("text_encoder")?.library, "transformers")
        XCTAssertEqual(folder.entry("safety_checker")?.isIncluded, false)
        XCTAssertEqual(folder.components.filter(\.isIncluded).map(\.name), ["scheduler", "text_encoder", "tokenizer", "unet", "vae"])
        XCTAssertEqual(try folder.index.bool("requires_safety_checker", default: true), false)
    }

    func testUNetConfigAndWeights() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        let unet = try folder.component("unet")
        XCTAssertEqual(unet.url.lastPathComponent, "unet")
        XCTAssertEqual(unet.className, "UNet2DConditionModel")
        let config = try unet.config()
        XCTAssertTrue(config.file.hasSuffix("unet/config.json"))
        XCTAssertEqual(config.className, "UNet2DConditionModel")
        XCTAssertEqual(try config.ints("block_out_channels"), [32, 64])
        XCTAssertEqual(try config.int("layers_per_block"), 2)
        XCTAssertEqual(try config.double("norm_eps"), 1e-5)
        XCTAssertEqual(try config.strings("down_block_types"), ["CrossAttnDownBlock2D", "DownBlock2D"])
        XCTAssertEqual(try config.bool("flip_sin_to_cos"), true)
        XCTAssertEqual(try config.intOrInts("attention_head_dim", count: 2), [8, 8])
        XCTAssertNil(try config.optionalString("addition_embed_type"), "null reads as absent")
        XCTAssertFalse(config.contains("addition_embed_type"))

        let files = try unet.weightFiles()
        XCTAssertEqual(files.url.lastPathComponent, "diffusion_pytorch_model.safetensors")
        XCTAssertEqual(files.variant, .full)
        XCTAssertFalse(files.isSharded)
        let weights = try unet.weights()
        XCTAssertEqual(weights.info("conv_in.weight")?.dtype, .f32)
        let convIn = try weights.scoped("conv_in").tensor("weight", shape: [4, 4, 3, 3])
        XCTAssertEqual(convIn.scalars[0], -4)
        XCTAssertEqual(convIn.scalars[143], 143.0 / 16 - 4)
        XCTAssertEqual(try weights.scoped("conv_in").tensor("bias", shape: [4]).scalars, [0.5, -0.25, 0.125, 0])
    }

    func testPreferFP16Variant() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        let unet = try folder.component("unet")
        let files = try unet.weightFiles(prefer: .fp16)
        XCTAssertEqual(files.url.lastPathComponent, "diffusion_pytorch_model.fp16.safetensors")
        XCTAssertEqual(files.variant, .fp16)
        let half = try folder.weights("unet", prefer: .fp16)
        XCTAssertEqual(half.info("conv_in.bias")?.dtype, .f16)
        // The fp16 values equal the fp32 ones after rounding to half.
        let full = try unet.weights().tensor("conv_in.weight").scalars
        let fromHalf = try half.tensor("conv_in.weight").scalars
        XCTAssertEqual(fromHalf, full.map { Float16Conversion.float(fromHalfBits: Float16Conversion.halfBits(from: $0)) })
    }

    func testVAEWithOnlyFP16FallsBack() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        let vae = try folder.component("vae")
        let files = try vae.weightFiles()
        XCTAssertEqual(files.url.lastPathComponent, "diffusion_pytorch_model.fp16.safetensors")
        XCTAssertEqual(files.variant, .fp16)
        let weights = try vae.weights()
        XCTAssertEqual(try weights.scoped("decoder.conv_in").tensor("bias", shape: [4]).scalars, [1, 2, 3, 4])
        XCTAssertEqual(try vae.config().double("scaling_factor"), 0.18215)
        XCTAssertEqual(try vae.config().float("scaling_factor"), Float(0.18215))
    }

    func testTextEncoderWithOnlyPickleWeights() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        let encoder = try folder.component("text_encoder")
        XCTAssertEqual(try encoder.config().int("hidden_size"), 32)
        XCTAssertThrowsError(try encoder.weights()) { error in
            let e = error as! ModelLoadError
            XCTAssertTrue(e.file.hasSuffix("text_encoder/pytorch_model.bin"), e.file)
            XCTAssertTrue(e.message.contains("only safetensors"), e.message)
            XCTAssertTrue(e.hint?.contains("from transformers import CLIPTextModel") == true, e.hint ?? "")
            XCTAssertTrue(e.hint?.contains("safe_serialization=True") == true, e.hint ?? "")
        }
    }

    func testSchedulerConfigFileName() throws {
        let scheduler = try ModelFolder(url: ModelFolderFixtures.tinySD).component("scheduler")
        let config = try scheduler.config()
        XCTAssertTrue(config.file.hasSuffix("scheduler/scheduler_config.json"))
        XCTAssertEqual(config.className, "DDIMScheduler")
        XCTAssertEqual(try config.int("num_train_timesteps"), 1000)
        XCTAssertEqual(try config.string("beta_schedule"), "scaled_linear")
        XCTAssertThrowsError(try scheduler.weightFiles()) { error in
            let e = error as! ModelLoadError
            XCTAssertTrue(e.file.hasSuffix("scheduler"), e.file)
            XCTAssertTrue(e.message.contains("diffusion_pytorch_model.safetensors, model.safetensors"), e.message)
            XCTAssertTrue(e.message.contains("model.safetensors.index.fp16.json"), e.message)
        }
    }

    func testMissingDisabledAndUnknownComponents() throws {
        let folder = try ModelFolder(url: ModelFolderFixtures.tinySD)
        XCTAssertThrowsError(try folder.component("tokenizer")) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.file, ModelFolderFixtures.tinySD.appendingPathComponent("tokenizer").path)
            XCTAssertTrue(e.message.contains("component folder not found"), e.message)
            XCTAssertTrue(e.message.contains("transformers CLIPTokenizer"), e.message)
        }
        XCTAssertThrowsError(try folder.component("safety_checker")) { error in
            let e = error as! ModelLoadError
            XCTAssertTrue(e.file.hasSuffix("model_index.json"))
            XCTAssertEqual(e.key, "safety_checker")
            XCTAssertTrue(e.message.contains("left out"), e.message)
        }
        XCTAssertThrowsError(try folder.component("controlnet")) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.key, "controlnet")
            XCTAssertTrue(e.message.contains("components: scheduler, text_encoder, tokenizer, unet, vae"), e.message)
        }
        XCTAssertThrowsError(try folder.component("requires_safety_checker")) { error in
            XCTAssertTrue((error as! ModelLoadError).message.contains("expected [library, class]"))
        }
    }

    func testStandaloneShardedComponent() throws {
        let component = try ComponentFolder(url: ModelFolderFixtures.directory.appendingPathComponent("sharded-unet"))
        XCTAssertEqual(component.name, "sharded-unet")
        XCTAssertNil(component.library)
        XCTAssertEqual(try component.config().className, "UNet2DConditionModel")

        let full = try component.weightFiles()
        XCTAssertEqual(full.url.lastPathComponent, "diffusion_pytorch_model.safetensors.index.json")
        XCTAssertTrue(full.isSharded)
        XCTAssertEqual(try full.safetensorsFiles().map(\.lastPathComponent), [
            "diffusion_pytorch_model-00001-of-00002.safetensors", "diffusion_pytorch_model-00002-of-00002.safetensors",
        ])
        let weights = try component.weights()
        XCTAssertEqual(weights.files.count, 2)
        XCTAssertEqual(try weights.tensor("conv_in.bias", shape: [4]).scalars, [0.5, -0.25, 0.125, 0])
        XCTAssertEqual(try weights.scoped("time_embedding.linear_1").tensor("weight", shape: [2, 2]).scalars, [1, -1, 0.5, 2])

        let half = try component.weightFiles(prefer: .fp16)
        XCTAssertEqual(half.url.lastPathComponent, "diffusion_pytorch_model.safetensors.index.fp16.json")
        XCTAssertEqual(try half.safetensorsFiles().map(\.lastPathComponent), ["diffusion_pytorch_model.fp16-00001-of-00001.safetensors"])
        XCTAssertEqual(try component.weights(prefer: .fp16).info("conv_in.weight")?.dtype, .f16)
    }

    func testCandidateOrder() {
        XCTAssertEqual(ComponentWeightFiles.candidateFileNames(prefer: .full).map(\.name), [
            "diffusion_pytorch_model.safetensors", "model.safetensors",
            "diffusion_pytorch_model.safetensors.index.json", "model.safetensors.index.json",
            "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors",
            "diffusion_pytorch_model.safetensors.index.fp16.json", "model.safetensors.index.fp16.json",
        ])
        XCTAssertEqual(ComponentWeightFiles.candidateFileNames(prefer: .fp16).first?.name, "diffusion_pytorch_model.fp16.safetensors")
        XCTAssertEqual(ComponentWeightFiles.candidateFileNames(prefer: .fp16).last?.name, "model.safetensors.index.json")
    }

    /// A model built from the loader fails at load on unexpected keys: here the "model" uses only conv_in.
    func testCheckAllUsedThroughModelLoadError() throws {
        let weights = try ModelFolder(url: ModelFolderFixtures.tinySD).weights("unet")
        _ = try weights.scoped("conv_in").tensor("weight", shape: [4, 4, 3, 3])
        _ = try weights.scoped("conv_in").tensor("bias", shape: [4])
        XCTAssertThrowsError(try ModelLoadError.converting { try weights.checkAllUsed() }) { error in
            let e = error as! ModelLoadError
            XCTAssertTrue(e.file.hasSuffix("unet/diffusion_pytorch_model.safetensors"), e.file)
            XCTAssertTrue(e.message.contains("1 unexpected key not used by the model: time_embedding.linear_1.weight"), e.message)
        }
        XCTAssertThrowsError(try ModelLoadError.converting { try weights.scoped("conv_in").tensor("weight", shape: [4, 4, 1, 1]) }) { error in
            let e = error as! ModelLoadError
            XCTAssertEqual(e.key, "conv_in.weight")
            XCTAssertTrue(e.description.contains("expected [4, 4, 1, 1], found [4, 4, 3, 3]"), e.description)
        }
    }
}
