import Foundation
import Testing

/// Every `fix:` doctor prints is a command that, pasted into a shell, makes the finding go away.
@Suite struct DoctorFixTests {
    func findings(_ d: EmitNginxTests.Deployment) throws -> [[String: Any]] {
        let r = try certs("doctor", "--stack", d.stack, "--store", d.store, "--json")
        return (try parseJSONObject(r.stdout)["findings"] as? [[String: Any]]) ?? []
    }

    /// Runs the fix of the finding `code` as a shell would, with this build's certs first on PATH.
    func paste(_ finding: [String: Any]) throws -> RunResult {
        let fix = try #require(finding["fix"] as? String)
        let bin = URL(fileURLWithPath: certsBinary).deletingLastPathComponent().path
        return try shell(fix, environment: ["PATH": "\(bin):/usr/bin:/bin"])
    }

    @Test(arguments: ["certificate-missing", "certificate-expiring"])
    func aLocalCAFindingIsFixedByTheCommandDoctorPrints(code: String) throws {
        let d = try EmitNginxTests.Deployment()
        try String(d.scratch.read("stack.yaml").replacingOccurrences(of: "tls: { profile: intermediate }", with: "tls: { profile: intermediate, source: local }"))
            .write(toFile: d.stack, atomically: true, encoding: .utf8)
        if code == "certificate-missing" {
            try FileManager.default.removeItem(atPath: "\(d.store)/live/api.example.com")
        } else {
            // 2 days left of 90: past the default critical threshold (7,10%).
            let start = String(Int(Date().timeIntervalSince1970) - 88 * 86400)
            #expect(try certs("ca", "issue", "--store", d.store, "--valid-from", start, "--days", "90", "api.example.com").status == 0)
        }
        let before = try findings(d).filter { $0["code"] as? String == code }
        let finding = try #require(before.first, "doctor did not find \(code)")
        #expect((finding["fix"] as? String)?.hasPrefix("certs ca issue api.example.com") == true, "\(finding)")
        let r = try paste(finding)
        #expect(r.status == 0, "\(finding["fix"] ?? ""): \(r.stderr)")
        #expect(try findings(d).filter { $0["code"] as? String == code }.isEmpty)
    }

    @Test func anACMEFixNamesTheChallengeAndParses() throws {
        let d = try EmitNginxTests.Deployment()
        try FileManager.default.removeItem(atPath: "\(d.store)/live/api.example.com")
        let finding = try #require(try findings(d).first { $0["code"] as? String == "certificate-missing" })
        let fix = try #require(finding["fix"] as? String)
        #expect(fix.contains("--acme ") && fix.contains("--webroot ") && fix.contains("--agree-tos"), "\(fix)")
        // Parsing alone (no network): the command line is complete; --help after it must be accepted.
        let words = fix.split(separator: " ").map(String.init)
        #expect(words.first == "certs")
        let r = try certs(Array(words.dropFirst()) + ["--help"])
        #expect(r.status == 0, "\(r.stderr)")
    }
}
