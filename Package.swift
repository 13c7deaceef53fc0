// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "certs",
    products: [
        .executable(name: "certs", targets: ["certs"]),
        .library(name: "CertsCore", targets: ["CertsCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The only place that knows OpenSSL's C headers (pkg-config `openssl`, Debian `libssl-dev`).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // libyaml (Debian `libyaml-dev`), the C parser under PyYAML and Yams, for the stack file.
        // Used directly rather than through Yams, which imports all of Foundation and would slow
        // every command's start-up.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        // The library: no CLI, no printing, no exit(). Everything testable.
        .target(
            name: "CertsCore",
            dependencies: ["COpenSSL", "CYAML"]
        ),
        // The thin command-line layer: parsing, formatting, exit codes.
        .executableTarget(
            name: "certs",
            dependencies: [
                "CertsCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Library tests against real OpenSSL (and nginx/Pebble on loopback where code talks to them).
        .testTarget(name: "CertsCoreTests", dependencies: ["CertsCore"]),
        // End-to-end: runs the built `certs` binary as a user would.
        .testTarget(name: "CertsCLITests", dependencies: ["CertsCore", "certs"]),
    ]
)

// The libFuzzer target over the parsing layer, only when asked for (scripts/fuzz sets CERTS_FUZZ=1
// and builds it with -sanitize=fuzzer,address into its own scratch directory).
if Context.environment["CERTS_FUZZ"] == "1" {
    package.targets.append(.executableTarget(name: "CertsFuzz", dependencies: ["CertsCore"], path: "Fuzz/CertsFuzz"))
}
