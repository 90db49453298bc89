import Foundation

extension SchedulerConfig {
    /// Reads a `scheduler_config.json` as a `ComponentConfig` (Python's `-Infinity` / `NaN` accepted, see
    /// `JSONValue.parse`).
    public static func readFile(_ url: URL) throws -> ComponentConfig { try ComponentConfig(url: url) }
}
