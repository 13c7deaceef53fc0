// swift-tools-version:6.0
import PackageDescription

/// The release link of `certs`: what the dynamic loader does before `main` was most of a short
/// command's instructions (callgrind, `certs --version`: 6.57M before, 4.26M after these).
/// - lld (the toolchain's own) instead of gold, for `-z pack-relative-relocs`: the executable's
///   43k relative relocations as DT_RELR (glibc 2.36+), 1 MB less of `.rela.dyn` to read and apply.
/// - `--no-export-dynamic` undoes the static runtime's `-export-dynamic` (6,800 dynamic symbols
///   to 700): every symbol lookup of every library starts in the executable, and `dladdr` at start-up
///   walks its symbol table.
/// - libstdc++ linked statically (see Linker/static-libstdc++/libstdc++.so).
let releaseLinkerFlags = [
    "-use-ld=lld",
    "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    "-Xlinker", "--no-export-dynamic",
    "-L\(Context.packageDirectory)/Linker/static-libstdc++",
]

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
            ],
            linkerSettings: [.unsafeFlags(releaseLinkerFlags, .when(configuration: .release))]
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
