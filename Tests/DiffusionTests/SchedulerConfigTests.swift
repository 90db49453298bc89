import Foundation
import XCTest
@testable import Diffusion
import Support

/// SchedulerConfig against diffusers' `XScheduler.from_config(file, **overrides)` (Fixtures/schedulers/manifest.json
/// `config_cases`), and its errors.
final class SchedulerConfigTests: XCTestCase {
    /// The config as the diffusers keys the fixtures record.
    static func schedulerEffectiveFields(_ c: SchedulerConfig) -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "num_train_timesteps": .int(c.numTrainTimesteps),
            "beta_start": .double(c.betaStart),
            "beta_end": .double(c.betaEnd),
            "beta_schedule": .string(c.betaSchedule.rawValue),
            "prediction_type": .string(c.predictionType.rawValue),
            "timestep_spacing": .string(c.timestepSpacing.rawValue),
            "steps_offset": .int(c.stepsOffset),
            "rescale_betas_zero_snr": .bool(c.rescaleBetasZeroSNR),
            "thresholding": .bool(false),
            "trained_betas_count": c.trainedBetas.map { .int($0.count) } ?? .null,
        ]
        switch c.scheduler {
        case .ddim:
            fields["clip_sample"] = .bool(c.clipSample)
            fields["clip_sample_range"] = .double(c.clipSampleRange)
            fields["set_alpha_to_one"] = .bool(c.setAlphaToOne)
        case .dpmSolverMultistep:
            fields["solver_order"] = .int(c.solverOrder)
            fields["algorithm_type"] = .string("dpmsolver++")
            fields["solver_type"] = .string(c.solverType.rawValue)
            fields["lower_order_final"] = .bool(c.lowerOrderFinal)
            fields["euler_at_final"] = .bool(c.eulerAtFinal)
            fields["final_sigmas_type"] = .string(c.finalSigmasType.rawValue)
            fields["lambda_min_clipped"] = c.lambdaMinClipped == -.infinity ? .string("-inf") : .double(c.lambdaMinClipped)
            fields["use_karras_sigmas"] = .bool(false)
        case .eulerDiscrete:
            fields["final_sigmas_type"] = .string(c.finalSigmasType.rawValue)
        case .lcm, .tcd:
            fields["original_inference_steps"] = .int(c.originalInferenceSteps)
        }
        return fields
    }

    /// Numbers compare by value (the manifest writes 1.0 where Swift has .double(1) or .int(1)).
    static func schedulerSame(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }

    func testConfigCasesMatchDiffusersFromConfig() throws {
        let cases = try SchedulerFixtures.list(SchedulerFixtures.manifest(), "config_cases")
        XCTAssertGreaterThanOrEqual(cases.count, 30)
        for entry in cases {
            let label = "\(entry["config"]!) as \(entry["scheduler"]!) with \(entry["overrides"]!)"
            if let key = entry["swift_error"]?.stringValue {
                XCTAssertThrowsError(try SchedulerFixtures.config(entry), label) { error in
                    let e = error as? ModelLoadError
                    XCTAssertEqual(e?.key, key, "\(label): \(error)")
                    XCTAssertEqual(e?.file, SchedulerFixtures.configURL(entry["config"]!.stringValue!).path, label)
                }
                continue
            }
            let config = try SchedulerFixtures.config(entry)
            XCTAssertEqual(config.scheduler, try SchedulerFixtures.scheduler(entry))
            let expected = try XCTUnwrap(entry["effective"]?.objectValue, label)
            let got = Self.schedulerEffectiveFields(config)
            XCTAssertEqual(Set(got.keys), Set(expected.keys), label)
            for (key, value) in expected {
                XCTAssertTrue(Self.schedulerSame(got[key] ?? .null, value), "\(label): \(key) is \(got[key] ?? .null), diffusers \(value)")
            }
        }
    }

    func testDefaultsDifferByClass() throws {
        let empty = ComponentConfig(file: "scheduler_config.json", values: [:])
        let ddim = try SchedulerConfig(empty, for: .ddim)
        let dpm = try SchedulerConfig(empty, for: .dpmSolverMultistep)
        XCTAssertEqual(ddim, SchedulerConfig(defaultsFor: .ddim))
        XCTAssertEqual(dpm, SchedulerConfig(defaultsFor: .dpmSolverMultistep))
        XCTAssertEqual(ddim.timestepSpacing, .leading)
        XCTAssertEqual(dpm.timestepSpacing, .linspace)
        XCTAssertTrue(ddim.clipSample && ddim.setAlphaToOne)

        // SD 1.5's PNDM file: the same file gives DDIM leading and DPM-Solver linspace.
        let sd15 = SchedulerFixtures.configURL("sd15")
        XCTAssertEqual(try SchedulerConfig(contentsOf: sd15, for: .ddim).timestepSpacing, .leading)
        XCTAssertEqual(try SchedulerConfig(contentsOf: sd15, for: .dpmSolverMultistep).timestepSpacing, .linspace)
    }

    func testOverridesWinOverTheFileAndUseDefaultValues() throws {
        let url = SchedulerFixtures.configURL("use-default-values")
        // The file says trailing and clip_sample false but lists both in _use_default_values.
        let plain = try SchedulerConfig(contentsOf: url, for: .ddim)
        XCTAssertEqual(plain.timestepSpacing, .leading)
        XCTAssertTrue(plain.clipSample)
        let overridden = try SchedulerConfig(contentsOf: url, for: .ddim, overrides: [
            "timestep_spacing": .string("trailing"), "clip_sample": .bool(false), "steps_offset": .int(0),
        ])
        XCTAssertEqual(overridden.timestepSpacing, .trailing)
        XCTAssertFalse(overridden.clipSample)
        XCTAssertEqual(overridden.stepsOffset, 0)
        // A null override means "absent": the class default.
        let nulled = try SchedulerConfig(contentsOf: SchedulerFixtures.configURL("sd15"), for: .ddim, overrides: ["steps_offset": .null])
        XCTAssertEqual(nulled.stepsOffset, 0)
    }

    func testDiffusersSavedDPMConfigWithInfinityReads() throws {
        let url = SchedulerFixtures.configURL("dpm-saved")
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("-Infinity"))
        let file = try SchedulerConfig.readFile(url)
        XCTAssertEqual(file["lambda_min_clipped"]?.doubleValue, -.infinity)
        XCTAssertEqual(file.file, url.path)
        let config = try SchedulerConfig(contentsOf: url, for: .dpmSolverMultistep)
        XCTAssertEqual(config.lambdaMinClipped, -.infinity)
    }

    func testUnreadableFilesNameTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("scheduler_config.json")
        try Data("{\"beta_start\": 0.1,".utf8).write(to: broken)
        XCTAssertThrowsError(try SchedulerConfig(contentsOf: broken, for: .ddim)) { error in
            XCTAssertEqual((error as? ModelLoadError)?.file, broken.path)
        }
        let missing = dir.appendingPathComponent("absent.json")
        XCTAssertThrowsError(try SchedulerConfig(contentsOf: missing, for: .ddim)) { error in
            XCTAssertEqual((error as? ModelLoadError)?.file, missing.path)
        }
    }

    /// Unsupported or invalid values: a ModelLoadError naming the file and key; overrides say so.
    func testRejectedValuesNameFileAndKey() throws {
        let file = ComponentConfig(file: "/models/x/scheduler/scheduler_config.json", values: [
            "beta_schedule": .string("scaled_linear"), "beta_start": .double(0.00085), "beta_end": .double(0.012),
        ])
        let cases: [(SchedulerType, [String: JSONValue], String)] = [
            (.ddim, ["timestep_spacing": .string("evenly")], "timestep_spacing"),
            (.ddim, ["beta_schedule": .string("sigmoid")], "beta_schedule"),
            (.ddim, ["prediction_type": .string("noise")], "prediction_type"),
            (.ddim, ["prediction_type": .string("flow_prediction")], "prediction_type"),
            (.ddim, ["thresholding": .bool(true)], "thresholding"),
            (.ddim, ["beta_start": .string("0.1")], "beta_start"),
            (.ddim, ["beta_end": .double(1.5)], "beta_end"),
            (.ddim, ["num_train_timesteps": .int(0)], "num_train_timesteps"),
            (.ddim, ["steps_offset": .int(-1)], "steps_offset"),
            (.ddim, ["clip_sample_range": .double(0)], "clip_sample_range"),
            (.ddim, ["trained_betas": .array([.double(0.1), .double(0.2)])], "trained_betas"),
            (.ddim, ["trained_betas": .array([.string("a")])], "trained_betas"),
            (.ddim, ["_use_default_values": .string("timestep_spacing")], "_use_default_values"),
            (.dpmSolverMultistep, ["use_karras_sigmas": .bool(true)], "use_karras_sigmas"),
            (.dpmSolverMultistep, ["use_beta_sigmas": .bool(true)], "use_beta_sigmas"),
            (.dpmSolverMultistep, ["use_flow_sigmas": .bool(true)], "use_flow_sigmas"),
            (.dpmSolverMultistep, ["algorithm_type": .string("dpmsolver")], "algorithm_type"),
            (.dpmSolverMultistep, ["algorithm_type": .string("sde-dpmsolver++")], "algorithm_type"),
            (.dpmSolverMultistep, ["algorithm_type": .string("unipc")], "algorithm_type"),
            (.dpmSolverMultistep, ["algorithm_type": .string("deis")], "final_sigmas_type"),
            (.dpmSolverMultistep, ["solver_order": .int(4)], "solver_order"),
            (.dpmSolverMultistep, ["solver_type": .string("bogacki")], "solver_type"),
            (.dpmSolverMultistep, ["final_sigmas_type": .string("sigma_max")], "final_sigmas_type"),
            (.dpmSolverMultistep, ["variance_type": .string("learned")], "variance_type"),
            (.dpmSolverMultistep, ["lambda_min_clipped": .string("low")], "lambda_min_clipped"),
        ]
        for (type, overrides, key) in cases {
            // As a file value ...
            let merged = ComponentConfig(file: file.file, values: file.values.merging(overrides) { $1 })
            XCTAssertThrowsError(try SchedulerConfig(merged, for: type), "\(overrides)") { error in
                guard let e = error as? ModelLoadError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.file, file.file)
                XCTAssertEqual(e.key, key, "\(overrides): \(e)")
                XCTAssertFalse(e.message.contains("override"), "\(e)")
                XCTAssertNotNil(e.hint)
            }
            // ... and as an override of a good file (an override of `_use_default_values` itself means nothing).
            if key == "_use_default_values" { continue }
            XCTAssertThrowsError(try SchedulerConfig(file, for: type, overrides: overrides), "\(overrides)") { error in
                guard let e = error as? ModelLoadError else { return XCTFail("\(error)") }
                XCTAssertEqual(e.key, key, "\(overrides): \(e)")
                if key == Array(overrides.keys)[0] {
                    XCTAssertTrue(e.message.contains("set by a pipeline override"), "\(e)")
                }
            }
        }
        // Keys of other classes are ignored, as diffusers ignores them.
        XCTAssertNoThrow(try SchedulerConfig(file, for: .ddim, overrides: ["use_karras_sigmas": .bool(true), "solver_order": .int(9)]))
        // diffusers' renames from UniPC / DEIS configs.
        let renamed = try SchedulerConfig(file, for: .dpmSolverMultistep, overrides: [
            "solver_type": .string("bh2"), "algorithm_type": .string("deis"), "final_sigmas_type": .string("sigma_min"),
        ])
        XCTAssertEqual(renamed.solverType, .midpoint)
        XCTAssertEqual(renamed.finalSigmasType, .sigmaMin)
    }

    func testSchedulerTypeNames() {
        XCTAssertEqual(SchedulerType(name: "DDIMScheduler"), .ddim)
        XCTAssertEqual(SchedulerType(name: "ddim"), .ddim)
        XCTAssertEqual(SchedulerType(name: "DPMSolverMultistepScheduler"), .dpmSolverMultistep)
        XCTAssertEqual(SchedulerType(name: "dpm++"), .dpmSolverMultistep)
        XCTAssertEqual(SchedulerType(name: "DPM++2M"), .dpmSolverMultistep)
        XCTAssertNil(SchedulerType(name: "PNDMScheduler"))
        XCTAssertEqual(SchedulerType.ddim.className, "DDIMScheduler")
    }

    func testMakeSchedulerPicksTheClass() throws {
        XCTAssertTrue(SchedulerConfig(defaultsFor: .ddim).makeScheduler() is DDIMScheduler)
        XCTAssertTrue(SchedulerConfig(defaultsFor: .dpmSolverMultistep).makeScheduler() is DPMSolverMultistepScheduler)
    }
}
