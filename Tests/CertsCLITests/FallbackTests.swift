import Foundation
import Testing

/// `--acme` repeated: CAs in order of preference; an outage, a rate limit or a policy refusal at
/// one sends the order to the next. Real Pebbles on loopback, and a URL where nothing listens.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct FallbackTests {
    @Test func aDeadCAFirstIsPassedOverAndTheRecordKeepsTheListAndTheIssuer() throws {
        let pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"]), s = Scratch()
        defer { pebble.stop() }
        let dead = "https://127.0.0.1:\(Loopback.freePort())/dir"
        let r = try certs("request", "fallback.example", "--agree-tos", "--acme", dead, "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle,
                          "--store", s.file("store"), "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("issued by the CA at \(pebble.directoryURL)"), "\(r.stdout)")
        #expect(r.stdout.contains("passed over \(dead): cannot connect"), "\(r.stdout)")
        let config = try parseJSONObject(s.read("store/renewal/fallback.example.json"))
        #expect(config["acme"] as? String == pebble.directoryURL)
        #expect(config["acmeList"] as? [String] == [dead, pebble.directoryURL], "\(config)")

        let renewed = try certs("renew", "fallback.example", "--force", "--no-probe", "--store", s.file("store"), "--json")
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        let out = try #require((try parseJSONObject(renewed.stdout)["certificates"] as? [[String: Any]])?.first)
        #expect(out["status"] as? String == "renewed" && out["issuedBy"] as? String == pebble.directoryURL, "\(out)")
        #expect((out["passedOver"] as? [String])?.first?.hasPrefix(dead) == true, "\(out)")

        // Only failures another CA may not share move on: every CA dead is one error naming each.
        let both = try certs("request", "nowhere.example", "--agree-tos", "--acme", dead, "--acme", "https://127.0.0.1:\(Loopback.freePort())/dir",
                             "--ca-bundle", pebble.caBundle, "--store", s.file("store"), "--standalone", "--http-port", String(pebble.httpPort),
                             "--http-address", "127.0.0.1")
        #expect(both.status == 4, "\(both.stderr)")
        #expect(both.stderrLines.count == 1 && both.stderr.contains("every CA failed: \(dead): cannot connect"), "\(both.stderr)")
        #expect(!s.exists("store/live/nowhere.example"))
    }

    @Test func aRateLimitedPebbleHandsTheOrderToTheSecondPebble() throws {
        let limited = try ACMEFaultTests.FaultyCA(rules: #"[{"method": "POST", "path": "/order-plz", "statuses": [429, 429, 429, 429, 429, 429, 429, 429], "retry_after": "0"}]"#)
        let second = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"]), s = Scratch()
        defer { second.stop(); limited.pebble.stop() }
        let bundle = s.write("both.pem", (try String(contentsOfFile: limited.pebble.caBundle, encoding: .utf8)) + (try String(contentsOfFile: second.caBundle, encoding: .utf8)))
        let r = try certs("request", "limited.example", "--agree-tos", "--acme", limited.directoryURL, "--acme", second.directoryURL, "--ca-bundle", bundle,
                          "--store", s.file("store"), "--standalone", "--http-port", String(second.httpPort), "--http-address", "127.0.0.1", "--json")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let out = try parseJSONObject(r.stdout)
        #expect(out["acme"] as? String == second.directoryURL, "\(out)")
        let passed = try #require(out["passedOver"] as? [[String: Any]])
        #expect(passed.count == 1 && passed[0]["acme"] as? String == limited.directoryURL && (passed[0]["reason"] as? String)?.contains("rateLimited") == true, "\(passed)")
        #expect(limited.count("POST /order-plz") == 4, "the first CA was asked with its retries: \(limited.requests)")
        // Each CA has its own account.
        #expect(s.exists("store/accounts/127.0.0.1_\(limited.port)/account.json") && s.exists("store/accounts/127.0.0.1_\(second.acmePort)/account.json"))
    }
}

/// Each `--acme` CA with its own External Account Binding (`--eab URL,kid=…,hmac-key-env=…`):
/// two Pebbles that require EAB, each knowing only its own key id.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct PerCAEABTests {
    @Test func eachCAGetsItsOwnBindingAndTheRecordNamesTheIssuer() throws {
        let macA = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
        let macB = "b10lLJs8l1GPIzsLP0s6pMt8O0XVGnfTaCeROxQM0BIt2XrJMDHJZBM5NuQmQJQH"
        let a = try Pebble(config: ["externalAccountBindingRequired": true, "externalAccountMACKeys": ["kid-a": macA]])
        let b = try Pebble(config: ["externalAccountBindingRequired": true, "externalAccountMACKeys": ["kid-b": macB], "httpPort": a.httpPort])
        let s = Scratch()
        defer { a.stop(); b.stop() }
        let bundle = s.write("both.pem", (try String(contentsOfFile: a.caBundle, encoding: .utf8)) + (try String(contentsOfFile: b.caBundle, encoding: .utf8)))
        func request(_ name: String) throws -> RunResult {
            try certs(["request", name, "--agree-tos", "--acme", a.directoryURL, "--acme", b.directoryURL, "--ca-bundle", bundle,
                       "--eab", "\(a.directoryURL),kid=kid-a,hmac-key-env=MAC_A", "--eab", "\(b.directoryURL),kid=kid-b,hmac-key-env=MAC_B",
                       "--store", s.file("store"), "--standalone", "--http-port", String(a.httpPort), "--http-address", "127.0.0.1"],
                      environment: ["MAC_A": macA, "MAC_B": macB])
        }
        let first = try request("eab-a.example")
        #expect(first.status == 0, "\(first.stderr)\n\(a.log)")
        #expect(first.stdout.contains("issued by the CA at \(a.directoryURL)"), "\(first.stdout)")
        #expect(!first.stdout.contains(macA) && !first.stderr.contains(macA))

        // The first CA goes away: the second registers with its own key id (kid-a would be refused).
        a.stop()
        let second = try request("eab-b.example")
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)\n\(b.log)")
        #expect(second.stdout.contains("issued by the CA at \(b.directoryURL)"), "\(second.stdout)")
        let config = try parseJSONObject(s.read("store/renewal/eab-b.example.json"))
        #expect(config["acme"] as? String == b.directoryURL && config["acmeList"] as? [String] == [a.directoryURL, b.directoryURL], "\(config)")
        #expect(s.exists("store/accounts/127.0.0.1_\(a.acmePort)/account.json") && s.exists("store/accounts/127.0.0.1_\(b.acmePort)/account.json"))
        #expect(!s.read("store/renewal/eab-b.example.json").contains(macB))

        // Renewal needs no binding any more: the account exists at the CA that is up.
        let renewed = try certs("renew", "eab-a.example", "--force", "--no-probe", "--store", s.file("store"))
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        #expect(renewed.stdout.contains(b.directoryURL), "the output names the issuing CA: \(renewed.stdout)")
    }

    @Test func aBindingForACANotInTheListOrWithoutAKidIsABadValue() throws {
        let s = Scratch()
        let stray = try certs(["request", "x.example", "--acme", "https://127.0.0.1:1/dir", "--eab", "https://127.0.0.1:2/dir,kid=k,hmac-key-env=M",
                               "--store", s.file("store"), "--standalone"], environment: ["M": "AAAA"])
        #expect(stray.status == 2 && stray.stderrLines.count == 1 && stray.stderr.contains("not one of the --acme CAs"), "\(stray.stderr)")
        let nokid = try certs(["request", "x.example", "--acme", "https://127.0.0.1:1/dir", "--eab", "https://127.0.0.1:1/dir,hmac-key-env=M",
                               "--store", s.file("store"), "--standalone"], environment: ["M": "AAAA"])
        #expect(nokid.status == 2 && nokid.stderr.contains("no kid=KID"), "\(nokid.stderr)")
        let inline = try certs(["request", "x.example", "--acme", "https://127.0.0.1:1/dir", "--eab", "https://127.0.0.1:1/dir,kid=k,hmac-key=AAAA",
                                "--store", s.file("store"), "--standalone"])
        #expect(inline.status == 2 && inline.stderr.contains("unknown field hmac-key"), "\(inline.stderr)")
    }
}
