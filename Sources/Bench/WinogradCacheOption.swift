import ArgumentParser
import Tensors

/// `--winograd-cache-mb`: the memory the process may keep transformed Winograd filters in (`WinogradCacheBudget`).
/// Speed and memory only: the results are the same for every value.
public struct WinogradCacheOption: ParsableArguments {
    @Option(help: ArgumentHelp("Memory for Winograd filters kept between UNet calls, in MB; 0 keeps none. Speed and memory only: results are the same for any value.",
                               valueName: "MB"))
    public var winogradCacheMb: Int = WinogradCacheBudget.defaultMegabytes

    public init() {}

    public func validate() throws {
        guard winogradCacheMb >= 0 else { throw ValidationError("--winograd-cache-mb is 0 or more (megabytes)") }
    }

    /// Sets the process's budget.
    public func apply() { WinogradCacheBudget.set(megabytes: winogradCacheMb) }
}
