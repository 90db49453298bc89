import Foundation
import Support

extension SchedulerConfig {
    /// Reads a `scheduler_config.json` of any scheduler class (PNDM, DDIM, DPMSolverMultistep, Euler, LMS, UniPC, ...)
    /// for `scheduler`, the way diffusers' `XScheduler.from_config(file_config, **overrides)` does:
    ///
    /// - keys the target class does not take are ignored (`skip_prk_steps`, `interpolation_type`, ...);
    /// - keys listed in the file's `_use_default_values` are dropped (diffusers records there which values were
    ///   defaults of the class that wrote them), so the target's defaults apply;
    /// - `overrides` (the per-pipeline settings, diffusers' `**kwargs`) replace the file's values key by key, with the
    ///   file's JSON types (`["timestep_spacing": .string("trailing"), "steps_offset": .int(1)]`);
    /// - an absent or `null` key takes the target class's default (they differ: `timestep_spacing` is `leading` for
    ///   DDIM and `linspace` for DPM-Solver; DDIM's `clip_sample` and `set_alpha_to_one` default to true);
    /// - diffusers' own renames apply: DPM-Solver takes `algorithm_type: deis` as `dpmsolver++` (and, like diffusers,
    ///   then refuses `final_sigmas_type: zero`) and `solver_type` `logrho` / `bh1` / `bh2` as `midpoint`.
    ///
    /// Values this engine does not implement (thresholding, Karras and other sigma schedules, SDE or first-version
    /// DPM-Solver, learned variance, flow prediction) and invalid ones are a `ModelLoadError` naming the file and the
    /// key (and saying when the value came from an override).
    public init(_ file: ComponentConfig, for scheduler: SchedulerType, overrides: [String: JSONValue] = [:]) throws {
        var values = file.values
        if let listed = file["_use_default_values"], !listed.isNull {
            guard let names = listed.arrayValue?.compactMap(\.stringValue), names.count == listed.arrayValue?.count else {
                throw ModelLoadError(file: file.file, key: "_use_default_values",
                                     message: "expected an array of strings, found \(listed.typeName)",
                                     hint: "remove `_use_default_values` or list key names in it")
            }
            for name in names { values[name] = nil }
        }
        values.merge(overrides) { _, override in override }
        let reader = SchedulerConfigReader(config: ComponentConfig(file: file.file, values: values),
                                           overridden: Set(overrides.keys))
        self.init(defaultsFor: scheduler)
        try readNoiseSchedule(reader)
        try readSampling(reader)
    }

    /// Reads the file at `url` (see `readFile(_:)`) for `scheduler`; see `init(_:for:overrides:)`.
    public init(contentsOf url: URL, for scheduler: SchedulerType, overrides: [String: JSONValue] = [:]) throws {
        try self.init(Self.readFile(url), for: scheduler, overrides: overrides)
    }

    /// The training noise levels: timestep count, betas (schedule or trained), zero-SNR rescaling.
    private mutating func readNoiseSchedule(_ r: SchedulerConfigReader) throws {
        numTrainTimesteps = try r.int("num_train_timesteps", default: numTrainTimesteps)
        guard numTrainTimesteps >= 1 else { throw r.invalid("num_train_timesteps", "must be at least 1, found \(numTrainTimesteps)") }
        betaStart = try r.beta("beta_start", default: betaStart)
        betaEnd = try r.beta("beta_end", default: betaEnd)
        if r.config.contains("trained_betas") {
            let betas = try r.noted("trained_betas") { try r.config.doubles("trained_betas") }
            guard betas.count == numTrainTimesteps else {
                throw r.invalid("trained_betas", "has \(betas.count) values but num_train_timesteps is \(numTrainTimesteps)",
                                hint: "give one beta per training timestep")
            }
            if let bad = betas.first(where: { !($0 >= 0 && $0 < 1) }) {
                throw r.invalid("trained_betas", "holds \(bad); betas must be in [0, 1)")
            }
            trainedBetas = betas
            // diffusers ignores beta_schedule when trained_betas are given, even an unknown one.
            betaSchedule = (try? r.choice("beta_schedule", default: betaSchedule)) ?? betaSchedule
        } else {
            betaSchedule = try r.choice("beta_schedule", default: betaSchedule)
        }
        rescaleBetasZeroSNR = try r.bool("rescale_betas_zero_snr", default: false)
    }

    /// How inference samples: prediction type, spacing, and the class's own settings.
    private mutating func readSampling(_ r: SchedulerConfigReader) throws {
        predictionType = try r.choice("prediction_type", default: predictionType, unsupported: [
            "flow_prediction": "flow-matching models need a flow-match scheduler, which this engine does not have",
        ])
        timestepSpacing = try r.choice("timestep_spacing", default: timestepSpacing)
        stepsOffset = try r.int("steps_offset", default: stepsOffset)
        guard (0..<numTrainTimesteps).contains(stepsOffset) else {
            throw r.invalid("steps_offset", "must be in 0..<\(numTrainTimesteps) (num_train_timesteps), found \(stepsOffset)")
        }
        try r.requireFalse("thresholding", "dynamic thresholding (Imagen) is not implemented; it is meant for pixel-space models, not latent diffusion")

        switch scheduler {
        case .lcm, .tcd:
            try readClipping(r)
            originalInferenceSteps = try r.int("original_inference_steps", default: originalInferenceSteps)
            guard (1...numTrainTimesteps).contains(originalInferenceSteps) else {
                throw r.invalid("original_inference_steps", "must be in 1...\(numTrainTimesteps) (num_train_timesteps), found \(originalInferenceSteps)")
            }
            timestepScaling = try r.double("timestep_scaling", default: timestepScaling)
            guard timestepScaling > 0, timestepScaling.isFinite else {
                throw r.invalid("timestep_scaling", "must be a positive number, found \(timestepScaling)")
            }
        case .ddim:
            try readClipping(r)
        case .dpmSolverMultistep:
            try readDPMSolver(r)
        case .eulerDiscrete:
            try readEuler(r)
        }
    }

    private mutating func readEuler(_ r: SchedulerConfigReader) throws {
        finalSigmasType = try r.choice("final_sigmas_type", default: finalSigmasType)
        let interpolation = try r.string("interpolation_type", default: "linear")
        switch interpolation {
        case "linear": break
        case "log_linear": throw r.unsupported("interpolation_type", interpolation, "only \"linear\" interpolation of the training sigmas is implemented")
        default: throw r.invalid("interpolation_type", "unknown value \"\(interpolation)\"", hint: "use \"linear\"")
        }
        for key in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"] {
            try r.requireFalse(key, "only the scheduler's own sigmas (at the spaced timesteps) are implemented")
        }
        let timestepType = try r.string("timestep_type", default: "discrete")
        switch timestepType {
        case "discrete": break
        case "continuous":
            // diffusers uses log-sigma timesteps only for v-prediction; otherwise "continuous" changes nothing.
            if predictionType == .vPrediction {
                throw r.unsupported("timestep_type", timestepType, "continuous (EDM) timesteps with v-prediction are not implemented")
            }
        default: throw r.invalid("timestep_type", "unknown value \"\(timestepType)\"", hint: "use \"discrete\"")
        }
    }

    /// DDIM's, LCM's and TCD's clipping of the predicted sample and final alpha.
    private mutating func readClipping(_ r: SchedulerConfigReader) throws {
        clipSample = try r.bool("clip_sample", default: clipSample)
        clipSampleRange = try r.double("clip_sample_range", default: clipSampleRange)
        guard clipSampleRange > 0, clipSampleRange.isFinite else {
            throw r.invalid("clip_sample_range", "must be a positive number, found \(clipSampleRange)")
        }
        setAlphaToOne = try r.bool("set_alpha_to_one", default: setAlphaToOne)
    }

    private mutating func readDPMSolver(_ r: SchedulerConfigReader) throws {
        solverOrder = try r.int("solver_order", default: solverOrder)
        guard (1...3).contains(solverOrder) else { throw r.invalid("solver_order", "must be 1, 2 or 3, found \(solverOrder)") }
        solverType = try r.choice("solver_type", default: solverType,
                                  aliases: ["logrho": .midpoint, "bh1": .midpoint, "bh2": .midpoint])
        lowerOrderFinal = try r.bool("lower_order_final", default: lowerOrderFinal)
        eulerAtFinal = try r.bool("euler_at_final", default: eulerAtFinal)
        finalSigmasType = try r.choice("final_sigmas_type", default: finalSigmasType)
        let algorithm = try r.string("algorithm_type", default: "dpmsolver++")
        switch algorithm {
        case "dpmsolver++":
            break
        case "deis":
            // diffusers renames it to dpmsolver++ but checks the final sigma against the old name first.
            guard finalSigmasType != .zero else {
                throw r.invalid("final_sigmas_type", "\"zero\" is refused by diffusers with algorithm_type \"deis\" (a DEIS config)",
                                hint: "set final_sigmas_type to \"sigma_min\", or algorithm_type to \"dpmsolver++\"")
            }
        case "dpmsolver", "sde-dpmsolver", "sde-dpmsolver++":
            throw r.unsupported("algorithm_type", algorithm, "only \"dpmsolver++\" (DPM-Solver++ 2M) is implemented")
        default:
            throw r.invalid("algorithm_type", "unknown value \"\(algorithm)\"", hint: "use \"dpmsolver++\"")
        }
        for key in ["use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas", "use_flow_sigmas"] {
            try r.requireFalse(key, "only the scheduler's own sigmas (at the spaced timesteps) are implemented")
        }
        let variance = try r.noted("variance_type", { try r.config.optionalString("variance_type") })
        if let variance, variance == "learned" || variance == "learned_range" {
            throw r.unsupported("variance_type", variance, "models that predict their variance are not supported")
        }
        if r.config.contains("lambda_min_clipped") {
            guard let value = r.config["lambda_min_clipped"]?.doubleValue, !value.isNaN else {
                throw r.invalid("lambda_min_clipped", "expected a number, found \(r.config["lambda_min_clipped"]!)")
            }
            lambdaMinClipped = value
        }
    }
}

/// Typed reads with errors that name the file, the key, and whether the value came from an override.
struct SchedulerConfigReader {
    let config: ComponentConfig
    let overridden: Set<String>

    func int(_ key: String, default value: Int) throws -> Int { try noted(key) { try config.int(key, default: value) } }
    func double(_ key: String, default value: Double) throws -> Double { try noted(key) { try config.double(key, default: value) } }
    func bool(_ key: String, default value: Bool) throws -> Bool { try noted(key) { try config.bool(key, default: value) } }
    func string(_ key: String, default value: String) throws -> String { try noted(key) { try config.string(key, default: value) } }

    func beta(_ key: String, default value: Double) throws -> Double {
        let beta = try double(key, default: value)
        guard beta >= 0, beta < 1 else { throw invalid(key, "must be in [0, 1), found \(beta)") }
        return beta
    }

    /// An enum value by its diffusers string; `aliases` are other accepted strings, `unsupported` known values
    /// this engine does not implement (with why).
    func choice<E: RawRepresentable & CaseIterable>(
        _ key: String, default value: E, aliases: [String: E] = [:], unsupported: [String: String] = [:]
    ) throws -> E where E.RawValue == String {
        guard let raw = try noted(key, { try config.optionalString(key) }) else { return value }
        if let v = E(rawValue: raw) ?? aliases[raw] { return v }
        if let why = unsupported[raw] { throw self.unsupported(key, raw, why) }
        let known = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        throw invalid(key, "unknown value \"\(raw)\"", hint: "use one of \(known)")
    }

    func requireFalse(_ key: String, _ why: String) throws {
        if try bool(key, default: false) {
            throw unsupported(key, "true", why)
        }
    }

    func unsupported(_ key: String, _ value: String, _ why: String) -> ModelLoadError {
        ModelLoadError(file: config.file, key: key, message: "\(value) is not supported\(origin(key))",
                       hint: "\(why); change `\(key)` or pick another scheduler")
    }

    func invalid(_ key: String, _ message: String, hint: String? = nil) -> ModelLoadError {
        ModelLoadError(file: config.file, key: key, message: message + origin(key), hint: hint ?? "fix the value of `\(key)`")
    }

    private func origin(_ key: String) -> String { overridden.contains(key) ? " (set by a pipeline override)" : "" }

    /// Type errors of `ComponentConfig` with the override note added.
    func noted<T>(_ key: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var error as ModelLoadError {
            error.message += origin(key)
            throw error
        }
    }
}
