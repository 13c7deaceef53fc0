import Foundation
import Testing

/// The flows the suite runs on Pebble, against acme2certifier: a second, independent ACME server
/// that validates HTTP-01 while the challenge POST is in flight (issue 15).
@Suite(.serialized, .enabled(if: acme2certifierInstalled, "needs acme2certifier (CERTS_TEST_DEPS=1 scripts/setup)"))
struct Acme2certifierTests {
    func request(_ ca: Acme2certifier, _ s: Scratch, _ args: [String]) throws -> RunResult {
        try certs(["request"] + args + ["--acme", ca.directoryURL, "--store", s.file("store")])
    }

    func standalone(_ ca: Acme2certifier) -> [String] { ["--standalone", "--http-port", "80", "--http-address", ca.address] }

    @Test func standaloneIssuesOneAndTwoNamesReusesTheAccountRenewsAndRevokes() throws {
        let ca = try Acme2certifier(), s = Scratch()
        defer { ca.stop() }
        let start = Date()
        let one = try request(ca, s, ["a.example", "--agree-tos", "--email", "ops@example.org", "--json"] + standalone(ca))
        #expect(one.status == 0, "\(one.stderr)\n\(ca.log)")
        // Validation happens inside the POST: an answer in well under acme2certifier's 10 s wait.
        #expect(Date().timeIntervalSince(start) < 8)
        let o = try openssl("verify", "-CAfile", ca.caPEM, s.file("store/live/a.example/cert.pem"))
        #expect(o.status == 0, "\(o.stdout)\(o.stderr)")

        let two = try request(ca, s, ["b.example", "www.b.example", "--json"] + standalone(ca))
        #expect(two.status == 0, "\(two.stderr)\n\(ca.log)")
        // The stored account is reused (no --agree-tos this time).
        #expect(try parseJSONObject(two.stdout)["account"] as? String == (try parseJSONObject(one.stdout)["account"] as? String))
        let san = try openssl("x509", "-in", s.file("store/live/b.example/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("DNS:b.example") && san.contains("DNS:www.b.example"))

        let renew = try certs("renew", "b.example", "--force", "--store", s.file("store"))
        #expect(renew.status == 0, "\(renew.stdout)\(renew.stderr)\n\(ca.log)")
        #expect(s.listing("store/archive/b.example") == ["0001", "0002"])

        let revoke = try certs("revoke", "a.example", "--store", s.file("store"))
        #expect(revoke.status == 0, "\(revoke.stdout)\(revoke.stderr)\n\(ca.log)")
    }

    @Test func dns01WithAWildcardThroughTheHook() throws {
        let ca = try Acme2certifier(), s = Scratch()
        defer { ca.stop() }
        let r = try request(ca, s, ["*.w.example", "w.example", "--agree-tos", "--email", "ops@example.org", "--dns-hook", ca.dnsHook,
                                    "--dns-resolver", ca.address])
        #expect(r.status == 0, "\(r.stderr)\n\(ca.log)")
        let san = try openssl("x509", "-in", s.file("store/live/_wildcard.w.example/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("DNS:*.w.example") && san.contains("DNS:w.example"))
    }

    @Test func anIPAddressIdentifier() throws {
        let ca = try Acme2certifier(), s = Scratch()
        defer { ca.stop() }
        let r = try request(ca, s, [ca.address, "--agree-tos", "--email", "ops@example.org"] + standalone(ca))
        #expect(r.status == 0, "\(r.stderr)\n\(ca.log)")
        let san = try openssl("x509", "-in", s.file("store/live/\(ca.address)/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("IP Address:\(ca.address)"))
    }

    /// acme2certifier checks TLS-ALPN-01 on port 443 (hard-coded); its names resolve to the
    /// instance's own 127.0.0.N, so the responder listens on 127.0.0.N:443 (the tests run as
    /// root, as they do for HTTP-01 on port 80).
    @Test func tlsALPNOnPort443OfItsOwnLoopbackAddress() throws {
        let ca = try Acme2certifier(), s = Scratch()
        defer { ca.stop() }
        let r = try request(ca, s, ["alpn.example", "www.alpn.example", "--agree-tos", "--email", "ops@example.org",
                                    "--tls-alpn", "--tls-port", "443", "--tls-address", ca.address])
        #expect(r.status == 0, "\(r.stderr)\n\(ca.log)")
        let san = try openssl("x509", "-in", s.file("store/live/alpn.example/cert.pem"), "-noout", "-ext", "subjectAltName").stdout
        #expect(san.contains("DNS:alpn.example") && san.contains("DNS:www.alpn.example"))
    }
}
