import Foundation
import Testing

/// ACME Renewal Information (RFC 9773) end to end. Debian's Pebble 2.4.0 has no renewalInfo
/// endpoint (its directory lists none and it ignores `replaces`), so Tests/Fixtures/ari_fixture.py
/// serves that endpoint in front of a real Pebble and forwards everything else to it.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct ARITests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ari_fixture.py").path

    /// Pebble with the ARI fixture in front; `configure` rewrites what /renewal-info answers.
    final class ARICA {
        let pebble: Pebble
        let fixture: ServerProcess
        let port: Int
        let logPath: String, configPath: String

        init(_ config: [String: Any]) throws {
            pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"])
            let s = pebble.scratch
            logPath = s.file("ari.log")
            configPath = s.file("ari.json")
            FileManager.default.createFile(atPath: logPath, contents: nil)
            fixture = try ServerProcess("/usr/bin/env", ["python3", ARITests.script, String(pebble.acmePort), s.file("pebble.pem"), s.file("pebble.key"),
                                                         pebble.caBundle, configPath, logPath], log: s.file("ari-stdout.log"))
            var found: Int? = nil
            let deadline = Date().addingTimeInterval(20)
            while found == nil, Date() < deadline {
                if let line = s.read("ari-stdout.log").split(separator: "\n").first, line.hasPrefix("port ") { found = Int(line.dropFirst(5)) }
                else { usleep(50_000) }
            }
            guard let found else { fixture.stop(); pebble.stop(); throw HarnessError("ari_fixture.py did not start: \(s.read("ari-stdout.log"))") }
            port = found
            try configure(config)
        }

        func configure(_ config: [String: Any]) throws {
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        }

        var directoryURL: String { "https://127.0.0.1:\(port)/dir" }
        var log: [String] { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        func count(_ prefix: String) -> Int { log.filter { $0.hasPrefix(prefix) }.count }

        func request(_ s: Scratch, _ name: String) throws -> RunResult {
            try certs("request", name, "--agree-tos", "--acme", directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                      "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1")
        }

        func stop() { fixture.stop(); pebble.stop() }
    }

    /// An RFC 3339 time `offset` seconds from now (a window fixed for the whole test).
    func stamp(_ offset: Int) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: Date(timeIntervalSinceNow: TimeInterval(offset)))
    }

    func record(_ s: Scratch, _ name: String) throws -> [String: Any] { try parseJSONObject(s.read("store/renewal/.\(name).ari.json")) }

    @Test func aRenewalNamesTheCertificateItReplacesAndOrdersAgainWithoutItWhenTheCASaysAlreadyReplaced() throws {
        let ca = try ARICA(["start": -7200, "end": -3600]), s = Scratch()  // a window that has passed: due now
        defer { ca.stop() }
        let r = try ca.request(s, "ari-replaces.example")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ca.count("POST /order-plz 201 no-replaces") == 1, "a first order replaces nothing: \(ca.log)")

        // The CA refuses `replaces` (alreadyReplaced, HTTP 409): renew orders once more without it.
        try ca.configure(["start": -7200, "end": -3600, "already_replaced": true])
        let renewed = try certs("renew", "ari-replaces.example", "--store", s.file("store"), "--no-probe", "--verbose")
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        #expect(renewed.stdout.contains("ari-replaces.example: renewed (the CA's renewal window (ARI) has started)"), "\(renewed.stdout)")
        let id = try #require(try record(s, "ari-replaces.example")["certificateID"] as? String)
        #expect(ca.count("POST /order-plz 409 replaces=\(id)") == 1, "\(ca.log)")
        #expect(ca.count("POST /order-plz 201 no-replaces") == 2, "\(ca.log)")
        #expect(renewed.stderr.contains("already replaced"), "\(renewed.stderr)")

        // A CA that accepts it gets exactly one order, naming the certificate now live.
        try ca.configure(["start": -7200, "end": -3600])
        let again = try certs("renew", "ari-replaces.example", "--store", s.file("store"), "--no-probe")
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        let id2 = try #require(try record(s, "ari-replaces.example")["certificateID"] as? String)
        #expect(id2 != id)
        #expect(ca.count("POST /order-plz 201 replaces=\(id2)") == 1, "\(ca.log)")
        #expect(ca.count("POST /order-plz 409") == 1)
    }

    @Test func theChosenInstantAndRetryAfterAreKeptSoTheCAIsAskedAgainOnlyAfterIt() throws {
        let ca = try ARICA(["start": stamp(10 * 86400), "end": stamp(11 * 86400), "retry_after": "3600",
                            "explanationURL": "https://ca.example/incident-42"]), s = Scratch()
        defer { ca.stop() }
        #expect(try ca.request(s, "ari-cache.example").status == 0)
        let first = try certs("renew", "ari-cache.example", "--store", s.file("store"))
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("ari-cache.example: not-due (before the CA's renewal window (ARI; renewing from "), "\(first.stdout)")
        #expect(first.stdout.contains("the CA explains its renewal window at https://ca.example/incident-42"), "\(first.stdout)")
        #expect(ca.count("GET /renewal-info/") == 1)
        var rec = try record(s, "ari-cache.example")
        #expect(rec["retryAfter"] as? Int == 3600, "\(rec)")
        #expect(rec["explanationURL"] as? String == "https://ca.example/incident-42")
        let chosen = try #require(rec["chosen"] as? String)

        // Within the Retry-After: decided from the record, the CA not asked.
        let second = try certs("renew", "ari-cache.example", "--store", s.file("store"), "--json")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(ca.count("GET /renewal-info/") == 1, "asked again before Retry-After: \(ca.log)")
        let out = try parseJSONObject(second.stdout)
        let cert = try #require((out["certificates"] as? [[String: Any]])?.first)
        #expect(cert["explanationURL"] as? String == "https://ca.example/incident-42", "\(cert)")

        // Once the Retry-After has passed (the record says so), the CA is asked again; the window
        // is the same, so the instant drawn in it is too.
        rec["validUntil"] = "2000-01-01T00:00:00Z"
        rec["fetchedAt"] = "2000-01-01T00:00:00Z"
        try JSONSerialization.data(withJSONObject: rec).write(to: URL(fileURLWithPath: s.file("store/renewal/.ari-cache.example.ari.json")))
        let third = try certs("renew", "ari-cache.example", "--store", s.file("store"))
        #expect(third.status == 0, "\(third.stderr)")
        #expect(ca.count("GET /renewal-info/") == 2, "\(ca.log)")
        let after = try record(s, "ari-cache.example")
        #expect(after["chosen"] as? String == chosen, "\(after)")
        #expect(after["fetchedAt"] as? String != "2000-01-01T00:00:00Z")
    }

    @Test func aWindowThatEndsBeforeItStartsIsRejectedAndTheLocalRuleDecides() throws {
        let ca = try ARICA(["start": 86400, "end": 3600]), s = Scratch()
        defer { ca.stop() }
        #expect(try ca.request(s, "ari-bad.example").status == 0)
        let r = try certs("renew", "ari-bad.example", "--store", s.file("store"))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("ari-bad.example: not-due ("), "\(r.stdout)")
        #expect(r.stdout.contains("the CA's renewal information was not used: invalid suggestedWindow: its end"), "\(r.stdout)")
        #expect(r.stderr.contains("warning: ari-bad.example: the CA's renewal information was not used"), "\(r.stderr)")
        let rec = try record(s, "ari-bad.example")
        #expect(rec["chosen"] is NSNull && (rec["problem"] as? String)?.contains("is not after its start") == true, "\(rec)")

        // Garbage instead of JSON: the same, never a crash.
        try FileManager.default.removeItem(atPath: s.file("store/renewal/.ari-bad.example.ari.json"))
        try ca.configure(["body": "<html>oops"])
        let g = try certs("renew", "ari-bad.example", "--store", s.file("store"))
        #expect(g.status == 0, "\(g.stdout)\(g.stderr)")
        #expect(g.stdout.contains("ari-bad.example: not-due"), "\(g.stdout)")
        #expect(g.stderr.contains("warning: ari-bad.example: could not read the renewal information"), "\(g.stderr)")
    }

    @Test func checkAriWarnsOnceTheWindowOpenedAndIsCriticalOnceItClosedEvenWithoutRenew() throws {
        let ca = try ARICA(["start": stamp(20 * 86400), "end": stamp(21 * 86400)]), s = Scratch()
        defer { ca.stop() }
        #expect(try ca.request(s, "ari-check.example").status == 0)
        let root = try ca.pebble.rootFile()  // Pebble's 5-year leaves are WARNING notes, not verdicts, under a private root
        // renew ran once (heartbeat fine), the window is far off: all OK, with or without --ari.
        #expect(try certs("renew", "--all", "--store", s.file("store")).status == 0)
        let quiet = try certs("check", "--store", s.file("store"), "--trust", root, "--ari")
        #expect(quiet.status == 0, "\(quiet.stdout)\(quiet.stderr)")

        // The CA moves the window earlier (an incident); renew's cron is dead, check still sees it.
        let record = s.file("store/renewal/.ari-check.example.ari.json")
        try FileManager.default.removeItem(atPath: record)
        try ca.configure(["start": -3600, "end": 86400, "explanationURL": "https://ca.example/incident-7"])
        let without = try certs("check", "--store", s.file("store"), "--trust", root)
        #expect(without.status == 0, "without --ari the CA is not asked: \(without.stdout)")
        let alerts = s.file("alerts.txt")
        let open = try certs("check", "--store", s.file("store"), "--trust", root, "--ari", "--alert", "command=printf '%s\\n' \"$CERTS_ALERT_MESSAGE\" >> \(alerts)")
        #expect(open.status == 1, "\(open.stdout)\(open.stderr)")
        #expect(open.stdout.contains("ari-window-open"), "\(open.stdout)")
        #expect(open.stdout.contains("ari-check.example: the CA's renewal window opened at") && open.stdout.contains("https://ca.example/incident-7"), "\(open.stdout)")
        #expect(s.read("alerts.txt").contains("renewal window opened") && s.read("alerts.txt").contains("https://ca.example/incident-7"), "\(s.read("alerts.txt"))")

        let json = try certs("check", "--store", s.file("store"), "--trust", root, "--ari", "--json")
        #expect(json.status == 1)
        let results = try #require(try parseJSONObject(json.stdout)["results"] as? [[String: Any]])
        let entry = try #require(results.first { $0["storeName"] as? String == "ari-check.example" }, "\(json.stdout)")
        let info = try #require(entry["renewalInfo"] as? [String: Any], "\(entry)")
        #expect(info["state"] as? String == "open" && info["explanationURL"] as? String == "https://ca.example/incident-7", "\(info)")

        // Closed: a mass revocation is coming. CRITICAL, in Prometheus too.
        try FileManager.default.removeItem(atPath: record)
        try ca.configure(["start": -7200, "end": -3600, "explanationURL": "https://ca.example/incident-7"])
        let closed = try certs("check", "--store", s.file("store"), "--trust", root, "--ari", "--format", "prometheus")
        #expect(closed.status == 2, "\(closed.stdout)\(closed.stderr)")
        #expect(closed.stdout.contains("certs_ari_window_state{filepath=") && closed.stdout.contains("explanation_url=\"https://ca.example/incident-7\"} 2"), "\(closed.stdout)")
        #expect(closed.stdout.contains("certs_ari_window_end_seconds{"))
        // The answer is cached until its Retry-After: a second check asks nobody.
        let asked = ca.count("GET /renewal-info/")
        #expect(try certs("check", "--store", s.file("store"), "--trust", root, "--ari").status == 2)
        #expect(ca.count("GET /renewal-info/") == asked)
    }
}

