import Foundation
import Testing

/// Faults between `certs` and its CA, injected by Tests/Fixtures/fault_proxy.py in front of a real
/// Pebble: server errors, rate limits with Retry-After, a server that stops answering, and the
/// process killed in the middle of a renewal. After each, the store holds a complete certificate
/// or none, never a mix.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct ACMEFaultTests {
    static let proxyScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fault_proxy.py").path

    /// Pebble behind the fault proxy; `rules` as fault_proxy.py documents.
    final class FaultyCA {
        let pebble: Pebble
        let proxy: ServerProcess
        let port: Int
        let log: String

        init(rules: String) throws {
            // These tests count the requests that reach the CA: Pebble's default 5% of rejected
            // good nonces would add a retry now and then (RequestCommandTests covers badNonce).
            pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"])
            port = Loopback.freePort()
            let s = pebble.scratch
            let rulesFile = s.write("rules.json", rules)
            log = s.file("proxy.log")
            proxy = try ServerProcess("/usr/bin/env", ["python3", ACMEFaultTests.proxyScript, String(port), String(pebble.acmePort),
                                                       s.file("pebble.pem"), s.file("pebble.key"), pebble.caBundle, rulesFile, log],
                                      log: s.file("proxy-stderr.log"))
            guard Loopback.waitForListener(port, timeout: 30) else { throw HarnessError("fault proxy did not start: \(s.read("proxy-stderr.log"))") }
        }

        var directoryURL: String { "https://127.0.0.1:\(port)/dir" }
        var requests: [String] { pebble.scratch.read("proxy.log").split(separator: "\n").map(String.init) }
        func count(_ prefix: String) -> Int { requests.filter { $0.hasPrefix(prefix) }.count }

        func request(_ s: Scratch, _ names: [String], _ extra: [String] = []) throws -> RunResult {
            try certs(["request"] + names + ["--acme", directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                                             "--agree-tos", "--standalone", "--http-port", String(pebble.httpPort),
                                             "--http-address", "127.0.0.1", "--verbose"] + extra)
        }

        deinit { proxy.stop() }
    }

    /// No temp files, no half-made version: either no live/NAME or a complete, matching one.
    /// `killed`: the pid of a run just SIGKILLed, which cannot clean up; its temporaries (hidden,
    /// named with its pid) may remain until the next writer removes them, anyone else's may not.
    func expectStoreConsistent(_ s: Scratch, _ name: String, killed: Int32? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let stray = try run("/usr/bin/find", [s.file("store"), "-name", ".*tmp-*"]).stdout
            .split(separator: "\n").filter { line in killed.map { !line.contains(".tmp-\($0)-") } ?? true }
        #expect(stray.isEmpty, "temp files left behind: \(stray)", sourceLocation: sourceLocation)
        guard s.exists("store/live/\(name)") else { return }
        let live = s.file("store/live/\(name)")
        let cert = s.read("store/live/\(name)/cert.pem"), chain = s.read("store/live/\(name)/chain.pem")
        #expect(!cert.isEmpty && !chain.isEmpty, sourceLocation: sourceLocation)
        #expect(s.read("store/live/\(name)/fullchain.pem") == cert + chain, "fullchain is not cert + chain", sourceLocation: sourceLocation)
        let certKey = try openssl("x509", "-in", "\(live)/cert.pem", "-noout", "-pubkey").stdout
        let privKey = try openssl("pkey", "-in", "\(live)/privkey.pem", "-pubout").stdout
        #expect(!certKey.isEmpty && certKey == privKey, "live key and certificate do not match", sourceLocation: sourceLocation)
    }

    @Test func serverErrorsOnNewOrderAreRetriedAndTheCertificateIsIssued() throws {
        let ca = try FaultyCA(rules: #"[{"method": "POST", "path": "/order-plz", "statuses": [500, 502]}]"#), s = Scratch()
        let r = try ca.request(s, ["e500.example"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("HTTP 500") && r.stderr.contains("HTTP 502"), "\(r.stderr)")
        #expect(ca.count("POST /order-plz") == 3)
        try expectStoreConsistent(s, "e500.example")
        #expect(s.exists("store/live/e500.example/cert.pem"))
    }

    @Test func a429OnFinalizeWaitsForTheRetryAfterItCarries() throws {
        let ca = try FaultyCA(rules: #"[{"method": "POST", "path": "/finalize-order/", "statuses": [429], "retry_after": "2"}]"#), s = Scratch()
        let start = Date()
        let r = try ca.request(s, ["e429.example"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ca.count("POST /finalize-order/") == 2, "\(ca.requests)")
        #expect(Date().timeIntervalSince(start) >= 2)
        #expect(r.stderr.contains("HTTP 429"))
        try expectStoreConsistent(s, "e429.example")
    }

    @Test func aCAThatKeepsFailingEndsWithItsProblemExit4AndNothingLive() throws {
        let ca = try FaultyCA(rules: #"[{"method": "POST", "path": "/order-plz", "statuses": [500, 500, 500, 500, 500, 500, 500, 500]}]"#), s = Scratch()
        let r = try ca.request(s, ["down.example"])
        #expect(r.status == 4, "\(r.stderr)")
        let last = r.stderrLines.last ?? ""
        #expect(last.hasPrefix("error: ") && last.contains("injected 500"), "\(r.stderr)")
        #expect(!s.exists("store/live/down.example"))
        try expectStoreConsistent(s, "down.example")
    }

    @Test func aCAThatStopsAnsweringTimesOutWithinTheTimeout() throws {
        let ca = try FaultyCA(rules: #"[{"method": "POST", "path": "/finalize-order/", "hang": true}]"#), s = Scratch()
        let start = Date()
        let r = try ca.request(s, ["hang.example"], ["--timeout", "2"])
        let elapsed = Date().timeIntervalSince(start)
        #expect(r.status == 4, "\(r.stderr)")
        #expect(r.stderrLines.last?.contains("no answer within 2 s") == true, "\(r.stderr)")
        #expect(elapsed < 60, "took \(elapsed) s")
        #expect(!s.exists("store/live/hang.example"))
        try expectStoreConsistent(s, "hang.example")
    }

    @Test func killingARenewalAtAnyMomentLeavesTheOldOrTheNewCertificateWhole() throws {
        let ca = try FaultyCA(rules: "[]"), s = Scratch()
        let first = try ca.request(s, ["kill.example"])
        #expect(first.status == 0, "\(first.stderr)")
        var serials = Set<String>()
        for step in 0..<8 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: certsBinary)
            p.arguments = ["renew", "kill.example", "--force", "--store", s.file("store")]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            var env = ProcessInfo.processInfo.environment
            env["CERTS_RANDOM_DELAY"] = "0"
            p.environment = env
            try p.run()
            usleep(useconds_t(40_000 + step * 170_000))  // 40 ms … 1.23 s: from the account lookup to the final install
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            try expectStoreConsistent(s, "kill.example", killed: p.processIdentifier)
            serials.insert(try openssl("x509", "-in", s.file("store/live/kill.example/cert.pem"), "-noout", "-serial").stdout)
        }
        // The lock died with the killed process: the next renewal runs, completes, and removes
        // whatever the killed runs left (no temporary at all is allowed below).
        let after = try certs("renew", "kill.example", "--force", "--store", s.file("store"))
        #expect(after.status == 0, "\(after.stderr)")
        try expectStoreConsistent(s, "kill.example")
        serials.insert(try openssl("x509", "-in", s.file("store/live/kill.example/cert.pem"), "-noout", "-serial").stdout)
        #expect(serials.count >= 2, "no renewal ever completed")
    }

    // MARK: Profiles and cron jitter (the lifecycle gaps)

    @Test func aProfileTheDirectoryListsIsSentWithTheOrderAndRecordedForRenewal() throws {
        let ca = try FaultyCA(rules: #"[{"method": "GET", "path": "/dir", "merge_meta": {"profiles": {"classic": "90 days", "shortlived": "6 days"}}}]"#)
        let s = Scratch()
        let r = try ca.request(s, ["profile.example"], ["--profile", "shortlived"])
        #expect(r.status == 0, "\(r.stderr)")
        let orders = ca.requests.filter { $0.hasPrefix("POST /order-plz") }
        #expect(orders.count == 1 && orders[0].contains(#""profile":"shortlived""#), "\(orders)")
        #expect(s.read("store/renewal/profile.example.json").contains(#""profile": "shortlived""#))
        // A renewal repeats the profile.
        #expect(try certs("renew", "profile.example", "--force", "--store", s.file("store")).status == 0)
        #expect(ca.requests.filter { $0.hasPrefix("POST /order-plz") && $0.contains(#""profile":"shortlived""#) }.count == 2)

        let unknown = try ca.request(Scratch(), ["other.example"], ["--profile", "gold"])
        #expect(unknown.status == 2, "\(unknown.stderr)")
        #expect(unknown.stderrLines.last?.contains("the CA offers classic, shortlived") == true, "\(unknown.stderr)")
    }

    @Test func aProfileFromACAWithoutProfilesIsRefusedBeforeOrdering() throws {
        let ca = try FaultyCA(rules: "[]"), s = Scratch()
        let r = try ca.request(s, ["noprof.example"], ["--profile", "shortlived"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderrLines.last?.contains("offers no certificate profiles") == true, "\(r.stderr)")
        #expect(ca.count("POST /order-plz") == 0)
        #expect(!s.exists("store/live/noprof.example"))
    }

    @Test func renewFromCronWaitsARandomDelayOnlyWhenSomethingIsDue() throws {
        let ca = try FaultyCA(rules: "[]"), s = Scratch()
        #expect(try ca.request(s, ["jitter.example"]).status == 0)
        // Not due: no wait, however long the delay may be.
        let start = Date()
        let idle = try certs(["renew", "jitter.example", "--store", s.file("store"), "--verbose", "--random-delay", "600"])
        #expect(idle.status == 0, "\(idle.stderr)")
        #expect(Date().timeIntervalSince(start) < 30 && !idle.stderr.contains("waiting"))
        // Due (forced): one random wait below the limit, announced, before the request.
        let forced = try certs(["renew", "jitter.example", "--force", "--store", s.file("store"), "--verbose"],
                               environment: ["CERTS_RANDOM_DELAY": "2"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("before renewing (random delay up to 2 s"), "\(forced.stderr)")
    }
}
