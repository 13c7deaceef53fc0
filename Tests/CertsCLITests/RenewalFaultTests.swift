import Foundation
import Testing

/// The issue's "Bad input and faults" during `certs renew`, injected by Tests/Fixtures/fault_proxy.py
/// in front of a real Pebble: a CA that redirects forever, garbage where the profiles or the ARI
/// document should be, a fresh nonce rejected on every request, a CA that stops answering mid-order.
/// After each: one line on stderr, the documented exit code, `live/` and the archive untouched, the
/// renewal record byte for byte the same, and every TXT record the DNS hook added removed again.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct RenewalFaultTests {
    static let profiles = #"{"method": "GET", "path": "/dir", "merge_meta": {"profiles": {"shortlived": "short-lived certificates"}}}"#

    struct Fault: Sendable {
        let name: String
        let rules: @Sendable (ACMEFaultTests.FaultyCA) -> String
        let exit: Int32
        let says: String
    }

    static let faults: [Fault] = [
        Fault(name: "redirects forever", rules: { ca in
            #"[{"method": "GET", "path": "/dir", "body": "", "location": "\#(ca.directoryURL)", "statuses": ["# + Array(repeating: "301", count: 60).joined(separator: ", ") + "]}]"
        }, exit: 4, says: "redirect"),
        Fault(name: "garbage profiles", rules: { _ in
            #"[{"method": "GET", "path": "/dir", "merge_meta": {"profiles": "<html>garbage</html>"}}]"#
        }, exit: 4, says: "profile"),  // the CA's directory is malformed: a remote fault, named as such
        Fault(name: "a nonce rejected on every request", rules: { _ in
            "[\(profiles), " + #"{"method": "POST", "path": "/", "type": "badNonce", "statuses": ["# + Array(repeating: "400", count: 40).joined(separator: ", ") + "]}]"
        }, exit: 4, says: "badNonce"),
        Fault(name: "stops answering mid-order", rules: { _ in
            "[\(profiles), " + #"{"method": "POST", "path": "/chalZ/", "hang": true}]"#
        }, exit: 4, says: "no answer within 2 s"),
    ]

    @Test func eachFaultFailsInOneLineAndLeavesLiveTheRecordAndTheDNSCleanedUp() throws {
        let ca = try ACMEFaultTests.FaultyCA(rules: "[\(Self.profiles)]"), s = Scratch()
        let hookLog = s.file("hook.log")
        let hook = "echo \"$CERTS_DNS_ACTION $CERTS_DNS_NAME\" >> \(hookLog); " + ca.pebble.dnsHook
        let first = try certs("request", "fault.example", "--acme", ca.directoryURL, "--ca-bundle", ca.pebble.caBundle, "--store", s.file("store"),
                              "--agree-tos", "--dns-hook", hook, "--profile", "shortlived",
                              "--dns-resolver", "127.0.0.1:\(ca.pebble.dnsPort)")
        try #require(first.status == 0, "\(first.stderr)")
        let record = s.read("store/renewal/fault.example.json"), live = s.read("store/live/fault.example/cert.pem")
        for fault in Self.faults {
            _ = s.write("hook.log", "")
            _ = ca.pebble.scratch.write("rules.json", fault.rules(ca))
            // Due by --days (Pebble's certificates live five years), which leaves ARI out of it.
            let r = try certs("renew", "fault.example", "--days", "100000", "--no-probe", "--timeout", "2", "--store", s.file("store"),
                              "--dns-resolver", "127.0.0.1:\(ca.pebble.dnsPort)")
            #expect(r.status == fault.exit, "\(fault.name): \(r.stdout)\(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.contains(fault.says), "\(fault.name): \(r.stderr)")
            #expect(r.stdout.contains("fault.example: failed"), "\(fault.name): \(r.stdout)")
            #expect(s.read("store/renewal/fault.example.json") == record, "\(fault.name): the renewal record changed")
            #expect(s.read("store/live/fault.example/cert.pem") == live && s.listing("store/archive/fault.example") == ["0001"], "\(fault.name)")
            let hooks = s.read("hook.log").split(separator: "\n")
            #expect(hooks.filter { $0.hasPrefix("add ") }.count == hooks.filter { $0.hasPrefix("remove ") }.count, "\(fault.name): \(hooks)")
            try ACMEFaultTests().expectStoreConsistent(s, "fault.example")
        }
        // The hang came after the hook added its record: the clean-up ran.
        #expect(s.read("hook.log").contains("remove _acme-challenge.fault.example"), "\(s.read("hook.log"))")

        // Garbage instead of the ARI document: not used, said so, and the last-third rule decides.
        let port = ca.port
        try? FileManager.default.removeItem(atPath: s.file("store/renewal/.fault.example.ari.json"))
        _ = ca.pebble.scratch.write("rules.json", #"""
        [{"method": "GET", "path": "/dir", "merge_meta": {"profiles": {"shortlived": "x"}}, "merge_directory": {"renewalInfo": "https://127.0.0.1:\#(port)/renewal-info"}},
         {"method": "GET", "path": "/renewal-info", "statuses": [200, 200, 200, 200], "body": "<html>garbage"}]
        """#)
        let ari = try certs("renew", "fault.example", "--no-probe", "--timeout", "2", "--store", s.file("store"))
        #expect(ari.status == 0, "\(ari.stdout)\(ari.stderr)")
        #expect(ari.stdout.contains("fault.example: not-due"), "\(ari.stdout)")
        #expect(ari.stderrLines.count == 1 && ari.stderr.contains("renewal information"), "\(ari.stderr)")
        #expect(ca.count("GET /renewal-info") >= 1, "\(ca.requests)")
        #expect(s.read("store/renewal/fault.example.json") == record)
        #expect(s.listing("store/archive/fault.example") == ["0001"])

        // --force renews without asking for the window: no lookup, so no warning line.
        let asked = ca.count("GET /renewal-info")
        let forced = try certs("renew", "fault.example", "--force", "--no-probe", "--timeout", "2", "--store", s.file("store"),
                               "--dns-resolver", "127.0.0.1:\(ca.pebble.dnsPort)")
        #expect(forced.status == 0 && forced.stdout.contains("fault.example: renewed"), "\(forced.stdout)\(forced.stderr)")
        #expect(forced.stderr.isEmpty, "\(forced.stderr)")
        #expect(ca.count("GET /renewal-info") == asked, "\(ca.requests)")
    }
}
