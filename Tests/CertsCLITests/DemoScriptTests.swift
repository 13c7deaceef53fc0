import Foundation
import Testing

/// The README's first command, `scripts/demo`: it installs only what the demo needs, prints
/// commands that can be pasted, writes no escape codes into a pipe, and gives the example stack
/// the database init script it names. Run for real, with the test build of certs and a real nginx
/// on loopback.
@Suite(.serialized) struct DemoScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let demo = repository + "/scripts/demo"
    static let setup = repository + "/scripts/setup"

    static func packages(_ output: String) -> (apt: Set<String>, pypi: Set<String>) {
        var apt = Set<String>(), pypi = Set<String>()
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if words.first == "apt:" { apt = Set(words.dropFirst()) }
            if words.first == "pypi:" { pypi = Set(words.dropFirst()) }
        }
        return (apt, pypi)
    }

    @Test func theDemoInstallsOnlyWhatItNeeds() throws {
        let r = try run("/bin/bash", [Self.demo, "--print-packages"], environment: ["CERTS_TEST_DEPS": "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let needed = Self.packages(r.stdout)
        #expect(needed.apt == ["libssl-dev", "libyaml-dev", "pkg-config", "publicsuffix", "nginx"], "\(r.stdout)")
        #expect(needed.pypi.isEmpty, "\(r.stdout)")
        // The test toolchain is a separate, larger set: what the demo must not pull in.
        let tests = Self.packages(try run("/bin/bash", [Self.setup, "--print-packages"], environment: ["CERTS_TEST_DEPS": "1"]).stdout)
        #expect(tests.apt.isSuperset(of: ["pebble", "lego", "openssl", "nginx"]))
        #expect(tests.pypi.isSuperset(of: ["sslyze", "check-jsonschema", "cryptography>=43"]))
        #expect(needed.apt.isDisjoint(with: tests.apt.subtracting(needed.apt)))
    }
}
