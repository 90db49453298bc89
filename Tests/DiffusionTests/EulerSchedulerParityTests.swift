import Foundation
import XCTest
import Tensors
@testable import Diffusion
import Support

/// EulerDiscreteScheduler against diffusers 0.42.1 (Fixtures/euler, tools/make_euler_fixtures.py): the model
/// timesteps exactly (fractional ones included), sigmas within 2 ulp (torch's float32 sqrt is not always correctly
/// rounded; zero-SNR configs within 1e-6, as their alphas_cumprod), add_noise, every scaled model input and every step's output within the scheduler parity tolerance.
final class EulerSchedulerParityTests: XCTestCase {
    static var directory: URL { SchedulerFixtures.directory.deletingLastPathComponent().appendingPathComponent("euler") }

    func manifest() throws -> JSONValue { try JSONValue.read(Self.directory.appendingPathComponent("manifest.json")) }

    func config(_ manifest: JSONValue, _ name: String) throws -> SchedulerConfig {
        let values = try XCTUnwrap(manifest["configs"]?[name]?.objectValue, "no config \(name)")
        return try SchedulerConfig(ComponentConfig(file: "euler/\(name).json", values: values), for: .eulerDiscrete)
    }

    func floats(_ value: JSONValue?) throws -> [Float] {
        try XCTUnwrap(value?.arrayValue).map { Float(try XCTUnwrap($0.doubleValue)) }
    }

    func testConfigsReadAsDiffusersBuildsThem() throws {
        let manifest = try manifest()
        for table in try XCTUnwrap(manifest["tables"]?.arrayValue) {
            let name = try XCTUnwrap(table["config"]?.stringValue)
            let c = try config(manifest, name)
            let effective = try XCTUnwrap(table["effective"])
            XCTAssertEqual(c.timestepSpacing.rawValue, effective["timestep_spacing"]?.stringValue, name)
            XCTAssertEqual(c.predictionType.rawValue, effective["prediction_type"]?.stringValue, name)
            XCTAssertEqual(c.stepsOffset, effective["steps_offset"]?.intValue, name)
            XCTAssertEqual(c.finalSigmasType.rawValue, effective["final_sigmas_type"]?.stringValue, name)
            XCTAssertEqual(c.rescaleBetasZeroSNR, effective["rescale_betas_zero_snr"]?.boolValue, name)
        }
    }

    func testTimestepsAndSigmas() throws {
        let manifest = try manifest()
        var compared = 0, worstULP = 0
        for table in try XCTUnwrap(manifest["tables"]?.arrayValue) {
            let name = try XCTUnwrap(table["config"]?.stringValue)
            var scheduler = EulerDiscreteScheduler(config: try config(manifest, name))
            for (count, expected) in try XCTUnwrap(table["steps"]?.objectValue) {
                scheduler.setTimesteps(try XCTUnwrap(Int(count)))
                let timesteps = try floats(expected["timesteps"])
                XCTAssertEqual(scheduler.modelTimesteps, timesteps, "\(name), \(count) steps")
                XCTAssertEqual(scheduler.timesteps, timesteps.map { Int($0.rounded(.toNearestOrEven)) }, "\(name), \(count) steps")
                XCTAssertEqual(Set(scheduler.timesteps).count, scheduler.timesteps.count, "labels are unique")
                let sigmas = try floats(expected["sigmas"])
                if scheduler.config.rescaleBetasZeroSNR {
                    // The rescaling takes square roots (torch's are within 0.75 ulp, not exact), as in SchedulerParityTests.
                    let error = ParityError(Tensor(shape: [sigmas.count], scalars: scheduler.sigmas), Tensor(shape: [sigmas.count], scalars: sigmas))
                    XCTAssertLessThanOrEqual(error.relative, 1e-6, "\(name), \(count) steps: \(error)")
                } else {
                    let ulp = SchedulerFixtures.maxULP(scheduler.sigmas, sigmas)
                    XCTAssertLessThanOrEqual(ulp, 2, "\(name), \(count) steps: sigmas \(scheduler.sigmas.prefix(4)) vs \(sigmas.prefix(4))")
                    worstULP = max(worstULP, ulp)
                }
                let initSigma = Float(try XCTUnwrap(expected["init_noise_sigma"]?.doubleValue))
                XCTAssertEqual(scheduler.initNoiseSigma, initSigma, accuracy: initSigma * 1e-6, "\(name), \(count) steps")
                compared += 1
            }
        }
        XCTAssertGreaterThanOrEqual(compared, 60)
        print("Euler sigmas: \(compared) tables, worst \(worstULP) ulp (zero-SNR configs aside)")
    }

    func testStepsMatchDiffusers() throws {
        let manifest = try manifest()
        let tensors = try SafeTensorsFile(url: Self.directory.appendingPathComponent("tensors.safetensors"))
        let original = try tensors.tensor("original"), noise = try tensors.tensor("noise")
        let bank = try tensors.tensor("model_outputs")
        let perOutput = bank.scalars.count / bank.shape[0]
        var worst: Float = 0, compared = 0
        func check(_ got: Tensor, _ key: String) throws {
            let error = ParityError(got, try tensors.tensor(key))
            XCTAssertLessThanOrEqual(error.relative, SchedulerParityTests.stepTolerance, "\(key): \(error)")
            worst = max(worst, error.relative)
            compared += 1
        }
        for entry in try XCTUnwrap(manifest["cases"]?.arrayValue) {
            let name = try XCTUnwrap(entry["name"]?.stringValue)
            var scheduler = EulerDiscreteScheduler(config: try config(manifest, try XCTUnwrap(entry["config"]?.stringValue)))
            let steps = try XCTUnwrap(entry["steps"]?.intValue)
            var sample: Tensor
            let kept: [Int]
            if let strength = entry["strength"]?.doubleValue {
                let cut = try Img2ImgTimesteps.prepare(&scheduler, steps: steps, strength: strength)
                XCTAssertEqual(cut.beginIndex, entry["begin_index"]?.intValue, name)
                sample = scheduler.addNoise(original: original, noise: noise, timestep: cut.latentTimestep)
                kept = cut.timesteps
            } else {
                scheduler.setTimesteps(steps)
                sample = noise * scheduler.initNoiseSigma
                kept = scheduler.timesteps
            }
            XCTAssertEqual(kept.count, try floats(entry["timesteps"]).count, name)
            try check(sample, name + ".start")
            for (i, t) in kept.enumerated() {
                try check(scheduler.scaleModelInput(sample, timestep: t), "\(name).scaled.\(i)")
                let output = Tensor(shape: original.shape, scalars: Array(bank.scalars[(i * perOutput)..<((i + 1) * perOutput)]))
                sample = scheduler.step(modelOutput: output, timestep: t, sample: sample, noise: nil)
                try check(sample, "\(name).step.\(i)")
            }
        }
        XCTAssertGreaterThan(compared, 60)
        print("Euler steps: \(compared) tensors, worst relative error \(worst)")
    }

    func testUnsupportedSettingsAreRefusedByName() throws {
        let refused: [(String, JSONValue, String)] = [
            ("use_karras_sigmas", .bool(true), "use_karras_sigmas"),
            ("interpolation_type", .string("log_linear"), "interpolation_type"),
            ("final_sigmas_type", .string("sigma_max"), "final_sigmas_type"),
        ]
        for (key, value, named) in refused {
            XCTAssertThrowsError(try SchedulerConfig(ComponentConfig(file: "scheduler_config.json", values: [key: value]), for: .eulerDiscrete)) {
                XCTAssertTrue("\($0)".contains(named), "\($0)")
            }
        }
        let vContinuous: [String: JSONValue] = ["timestep_type": .string("continuous"), "prediction_type": .string("v_prediction")]
        XCTAssertThrowsError(try SchedulerConfig(ComponentConfig(file: "scheduler_config.json", values: vContinuous), for: .eulerDiscrete))
        XCTAssertNoThrow(try SchedulerConfig(ComponentConfig(file: "scheduler_config.json", values: ["timestep_type": .string("continuous")]),
                                             for: .eulerDiscrete))
        XCTAssertEqual(SchedulerType(name: "euler"), .eulerDiscrete)
        XCTAssertEqual(SchedulerType(name: "EulerDiscreteScheduler"), .eulerDiscrete)
    }
}

/// The img2img pipeline with `scheduler: euler` against diffusers' StableDiffusionImg2ImgPipeline with
/// EulerDiscreteScheduler swapped in, on the committed sd2-like parity model (Fixtures/euler, img2img records):
/// the folder's leading spacing, linspace with fractional timesteps (the UNet and the taps get them unrounded), and
/// trailing at guidance 0 (a batch of one); latents and the decoded image within 1e-4 relative, taps within 1e-3.
final class EulerImg2ImgParityTests: XCTestCase {
    func testImg2ImgWithEulerMatchesDiffusers() throws {
        let manifest = try JSONValue.read(EulerSchedulerParityTests.directory.appendingPathComponent("manifest.json"))
        let spec = try XCTUnwrap(manifest["img2img"])
        let records = try SafeTensorsFile(url: EulerSchedulerParityTests.directory.appendingPathComponent("tensors.safetensors"))
        let folder = ParityFixtures.folder("sd2-like")
        let given = try SafeTensorsFile(url: folder.appendingPathComponent("expected/img2img.safetensors"))
        let pipeline = try StableDiffusionImg2ImgPipeline(folder: folder)
        let noise = DiffusionNoise(tensors: [DiffusionNoise.posteriorKey: try given.tensor("posterior_noise"),
                                             DiffusionNoise.latentKey: try given.tensor("latent_noise")])
        var worst: [String: Float] = [:]
        func check(_ got: Tensor, _ key: String, _ tolerance: Float, _ kind: String) throws {
            let error = ParityError(got, try records.tensor(key))
            worst[kind] = max(worst[kind] ?? 0, error.relative)
            XCTAssertLessThan(error.relative, tolerance, "\(key): \(error)")
        }
        let cases = try XCTUnwrap(spec["cases"]?.objectValue)
        XCTAssertEqual(cases.count, 3)
        for (name, c) in cases.sorted(by: { $0.key < $1.key }) {
            let settings = Img2ImgSettings(prompt: try XCTUnwrap(spec["prompt"]?.stringValue), negativePrompt: "",
                                           strength: try XCTUnwrap(c["strength"]?.doubleValue), steps: try XCTUnwrap(c["steps"]?.intValue),
                                           guidanceScale: Float(try XCTUnwrap(c["guidance"]?.doubleValue)), scheduler: .eulerDiscrete,
                                           schedulerOverrides: c["overrides"]?.objectValue ?? [:])
            let result = try pipeline(image: try given.tensor("image"), settings: settings, noise: noise, recordSteps: true, taps: true)
            let expectedTimesteps = try XCTUnwrap(c["timesteps"]?.arrayValue).map { Float(try XCTUnwrap($0.doubleValue)) }
            XCTAssertEqual(result.timesteps, expectedTimesteps.map { Int($0.rounded(.toNearestOrEven)) }, name)
            try check(result.referenceLatent, "img2img.reference_latent", 1e-4, "reference_latent")
            try check(result.noised, "img2img.\(name).noised", 1e-4, "noised")
            XCTAssertEqual(result.stepLatents.count, expectedTimesteps.count, name)
            for (i, latent) in result.stepLatents.enumerated() { try check(latent, "img2img.\(name).step.\(i)", 1e-4, "step latents") }
            try check(result.decoded, "img2img.\(name).decoded", 1e-4, "decoded")
            let taps = try XCTUnwrap(result.taps)
            XCTAssertEqual(taps.timestep, Float(try XCTUnwrap(c["taps_timestep"]?.doubleValue)), name)
            for (group, tensor) in taps.namedTensors { try check(tensor, "img2img.\(name).taps.\(group)", 1e-3, "taps") }
        }
        print("Euler img2img parity, largest relative errors: " + worst.sorted { $0.key < $1.key }
            .map { "\($0.key) \(String(format: "%.2g", Double($0.value)))" }.joined(separator: ", "))
    }
}
