import Foundation
import Testing

/// Every command that reports has --json: one document with "version": 1 first (docs/json.md).
/// Text output may change; these documents may not without a version bump.
@Suite struct JSONEverywhereTests {
    func document(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        #expect(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stdout.hasPrefix("{\n  \"version\": 1,") || r.stdout.hasPrefix("{\"version\":1,"), "\(r.stdout.prefix(80))", sourceLocation: sourceLocation)
        return try parseJSONObject(r.stdout)
    }

    @Test func keyAndCSRCommandsReportWhatTheyWroteNeverTheKey() throws {
        let s = Scratch()
        let key = try document(try certs("key", "new", "--key-type", "ed25519", "--out", s.file("k.pem"), "--json"))
        #expect(key["key"] as? String == s.file("k.pem") && key["type"] as? String == "ed25519" && key["mode"] as? String == "0600")
        let csr = try document(try certs("csr", "new", "--key-type", "ec-p256", "--cn", "j.example", "--san", "DNS:j.example,IP:127.0.0.1",
                                         "--out", s.file("j.csr"), "--json"))
        #expect(csr["csr"] as? String == s.file("j.csr"))
        #expect(csr["key"] as? String == s.file("j.key"))
        #expect(csr["names"] as? [String] == ["DNS:j.example", "IP:127.0.0.1"])
        for r in [try certs("key", "new", "--out", "-", "--json"), try certs("csr", "new", "--key", s.file("k.pem"), "--cn", "x", "--out", "-", "--json")] {
            expectOneLineError(r, exit: 2, mentioning: "--json")
        }
    }

    @Test func emittersListTheFilesTheyWrote() throws {
        let d = try EmitNginxTests.Deployment()
        let nginx = try document(try d.emit("--json"))
        #expect(nginx["command"] as? String == "emit nginx")
        #expect((nginx["files"] as? [String] ?? []).contains("\(d.out)/conf.d/example.com.conf"))
        let compose = try document(try certs("emit", "compose", "--stack", d.stack, "--out", d.scratch.file("compose"), "--json"))
        #expect((compose["files"] as? [String])?.count == 1)
        let ci = try document(try certs("emit", "ci", "--provider", "github", "--stack", d.stack, "--out", d.scratch.file("ci"), "--json"))
        #expect((ci["files"] as? [String])?.first?.hasSuffix("certs-deploy.yaml") == true)
    }
}
