import Foundation
import Testing

/// `certs check --endpoint` and check_ssl_cert (Debian monitoring-plugins-contrib) on the same
/// loopback endpoints must reach the same Nagios status, except where docs/verification.md says
/// why they differ. check_ssl_cert runs with OCSP, SCT and HTTP-header checks off and no proxy, so
/// nothing leaves the machine (it connects only to the endpoint given as an IP literal).
@Suite(.serialized) struct CheckSSLCertAgreementTests {
    static let plugin = "/usr/lib/nagios/plugins/check_ssl_cert"

    struct Case {
        let name: String
        let port: Int
        let host: String
        let trust: String
        var protocolName: String? = nil
        var crl = false
        let expected: Int32
    }

    @Test func certsAndCheckSSLCertAgreeOnTheEndpointSet() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.plugin), "check_ssl_cert is missing: apt-get install monitoring-plugins-contrib bind9-host")
        guard FileManager.default.isExecutableFile(atPath: Self.plugin) else { return }
        let x = try RevocationTests.CRLFixture()
        defer { x.http.stop() }
        let s = x.s, f = x.f
        let live = try f.issue("localhost", "127.0.0.1")
        let now = Int(Date().timeIntervalSince1970)
        let expiredLive = try f.issue("expired.test", options: ["--valid-from", String(now - 10 * 86_400), "--days", "2"])
        _ = try x.leaf("revoked", crlPath: "/files/revoked.crl")
        try x.crl("revoked.crl", revoking: ["revoked"])
        let otherStore = s.file("other")
        _ = try certs("ca", "init", "--store", otherStore)
        let otherRoot = "\(otherStore)/ca/root.pem"

        let full = try VerifyTLSServer(cert: "\(live)/cert.pem", key: "\(live)/privkey.pem", chain: "\(live)/chain.pem")
        defer { full.stop() }
        let leafOnly = try VerifyTLSServer(cert: "\(live)/cert.pem", key: "\(live)/privkey.pem")
        defer { leafOnly.stop() }
        let smtp = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/starttls_fixture.py", "smtp",
                                                          "--cert", "\(live)/fullchain.pem", "--key", "\(live)/privkey.pem"])
        defer { smtp.stop() }
        let expired = try VerifyTLSServer(cert: "\(expiredLive)/cert.pem", key: "\(expiredLive)/privkey.pem", chain: "\(expiredLive)/chain.pem")
        defer { expired.stop() }
        let revoked = try VerifyTLSServer(cert: s.file("revoked.pem"), key: s.file("revoked.key"), chain: f.intermediate)
        defer { revoked.stop() }

        let cases = [
            Case(name: "good", port: full.port, host: "localhost", trust: f.root, expected: 0),
            Case(name: "wrong name", port: full.port, host: "wrong.example.test", trust: f.root, expected: 2),
            Case(name: "untrusted", port: full.port, host: "localhost", trust: otherRoot, expected: 2),
            Case(name: "incomplete chain", port: leafOnly.port, host: "localhost", trust: f.root, expected: 2),
            Case(name: "expired", port: expired.port, host: "expired.test", trust: f.root, expected: 2),
            Case(name: "revoked", port: revoked.port, host: "www.example.test", trust: f.root, crl: true, expected: 2),
            Case(name: "STARTTLS smtp", port: smtp.port, host: "localhost", trust: f.root, protocolName: "smtp", expected: 0),
        ]
        // Both run at once per case; check_ssl_cert takes ~2 s a case, certs milliseconds.
        let results = Locked2<[String: (Int32, Int32, String)]>([:])
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            let c = cases[i]
            let endpoint = c.protocolName.map { "\($0)://127.0.0.1:\(c.port)@\(c.host)" } ?? "127.0.0.1:\(c.port)@\(c.host)"
            let ours = (try? certs("check", "--endpoint", endpoint, "--trust", c.trust, "--revocation", "crl"))
            var args = ["-H", "127.0.0.1", "-p", String(c.port), "--sni", c.host, "-m", c.host, "-r", c.trust,
                        "--ignore-ocsp", "--ignore-sct", "--no-proxy", "--ignore-maximum-validity", "--ignore-http-headers"]
            if let p = c.protocolName { args += ["-P", p] }
            if c.crl { args += ["--crl", "--rootcert-file", c.trust] }
            let theirs = try? run(Self.plugin, args)
            results.set(c.name, (ours?.status ?? -1, theirs?.status ?? -1, "certs: \(ours?.stdout.prefix(3000) ?? "")\ncheck_ssl_cert: \(theirs?.stdout ?? "")"))
        }
        for c in cases {
            let (ours, theirs, output) = try #require(results.get(c.name))
            #expect(ours == c.expected, "\(c.name): certs exit \(ours)\n\(output)")
            #expect(theirs == c.expected, "\(c.name): check_ssl_cert exit \(theirs)\n\(output)")
            #expect(ours == theirs, "\(c.name): certs and check_ssl_cert disagree (document why in docs/verification.md)\n\(output)")
            // Same status for the same reason: each names it.
            if c.name == "revoked" || c.name == "expired" {
                #expect(output.lowercased().components(separatedBy: c.name).count >= 3, "\(c.name): not named by both\n\(output)")
            }
        }
    }
}

/// A dictionary behind a lock, for results written from concurrentPerform (tests may use Foundation).
final class Locked2<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func set<K: Hashable, V>(_ key: K, _ v: V) where Value == [K: V] { lock.lock(); value[key] = v; lock.unlock() }
    func get<K: Hashable, V>(_ key: K) -> V? where Value == [K: V] { lock.lock(); defer { lock.unlock() }; return value[key] }
}
