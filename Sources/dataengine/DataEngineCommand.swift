import ArgumentParser

@main
struct DataEngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataengine",
        abstract: "Build labelled object-detection datasets with a diffusion model (DiffusionEngine).",
        subcommands: [])
}
