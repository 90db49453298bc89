import Foundation

extension SchedulerConfig {
    /// Reads a `scheduler_config.json` as a `ComponentConfig`. diffusers writes its configs with Python's `json`,
    /// which spells infinities `-Infinity` (every DPMSolverMultistepScheduler config it saves holds
    /// `"lambda_min_clipped": -Infinity`); strict JSON parsers refuse that. When the strict parse fails, the file is
    /// parsed again as JSON5, which has `Infinity` and `NaN`; if that fails too, the strict parse's error is thrown.
    public static func readFile(_ url: URL) throws -> ComponentConfig {
        do {
            return try ComponentConfig(url: url)
        } catch let strictError {
            guard let data = FileManager.default.contents(atPath: url.path) else { throw strictError }
            let decoder = JSONDecoder()
            decoder.allowsJSON5 = true
            guard let value = try? decoder.decode(JSONValue.self, from: data), let object = value.objectValue else {
                throw strictError
            }
            return ComponentConfig(file: url.path, values: object)
        }
    }
}
