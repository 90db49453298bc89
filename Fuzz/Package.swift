// swift-tools-version: 6.0
// Fuzz targets for every parser of outside input. Built only by tools/fuzz.sh (with -sanitize=fuzzer,address),
// never by `swift build` of the main package or by CI.
import PackageDescription

let package = Package(
    name: "DataEngineFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "DataEngine", path: "..")],
    targets: [
        .executableTarget(
            name: "DataEngineFuzz",
            dependencies: [
                .product(name: "Datasets", package: "DataEngine"),
                .product(name: "Evaluation", package: "DataEngine"),
                .product(name: "Pipeline", package: "DataEngine"),
                .product(name: "Stages", package: "DataEngine"),
                .product(name: "Tensors", package: "DataEngine"),
                .product(name: "Diffusion", package: "DataEngine"),
                .product(name: "Imaging", package: "DataEngine"),
                .product(name: "Support", package: "DataEngine"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
