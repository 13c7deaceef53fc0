import Foundation
import Testing

/// `certs request` with the DNS checks end to end against Pebble and its challtestsrv, which is
/// also the resolver (`--dns-resolver`): CAA before ordering, and DNS-01's wait for the TXT values.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct DNSCommandTests {
    func request(_ pebble: Pebble, _ s: Scratch, _ args: [String]) throws -> RunResult {
        try certs(["request"] + args + ["--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                                        "--dns-resolver", "127.0.0.1:\(pebble.dnsPort)", "--agree-tos"])
    }

    func addCAA(_ pebble: Pebble, host: String, tag: String, value: String) throws {
        let body = "{\"host\":\"\(host).\",\"policies\":[{\"tag\":\"\(tag)\",\"value\":\"\(value)\"}]}"
        let r = try run("/usr/bin/curl", ["-sS", "--fail", "-X", "POST", "-d", body, "\(pebble.challtestURL)/add-caa"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func aCAARecordAllowingNoCAStopsTheRequestBeforeAnyOrderAndNamesTheRecord() throws {
        let pebble = try Pebble(), s = Scratch()
        try addCAA(pebble, host: "caa.example", tag: "issue", value: ";")
        let r = try request(pebble, s, ["www.caa.example", "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1"])
        expectOneLineError(r, exit: 4, mentioning: "caa.example. CAA 0 issue \";\"")
        #expect(r.stderr.contains("--no-caa-check"))
        #expect(!s.exists("store/live/www.caa.example"))
    }

    @Test func aRecordThatNeverAppearsTimesOutNamingTheServerAndTheHookCleansUp() throws {
        let pebble = try Pebble(), s = Scratch()
        let hookLog = s.file("hook.log")
        // The hook "adds" nothing: the value never shows up at the resolver.
        let hook = "echo \"$CERTS_DNS_ACTION $CERTS_DNS_NAME\" >> \(hookLog)"
        let started = Date()
        let r = try request(pebble, s, ["late.example", "--dns-hook", hook, "--dns-timeout", "1.5"])
        expectOneLineError(r, exit: 4, mentioning: "_acme-challenge.late.example is not on the authoritative server 127.0.0.1:\(pebble.dnsPort)")
        #expect(Date().timeIntervalSince(started) < 20)
        #expect(s.read("hook.log") == "add _acme-challenge.late.example\nremove _acme-challenge.late.example\n")
        #expect(!s.exists("store/live/late.example"))
    }

    @Test func renewRepeatsTheDNS01WaitWithTheResolverItIsGiven() throws {
        let pebble = try Pebble(), s = Scratch()
        let first = try request(pebble, s, ["r.dns.example", "--dns-hook", pebble.dnsHook])
        #expect(first.status == 0, "\(first.stderr)")
        let renewed = try certs("renew", "r.dns.example", "--force", "--no-probe", "--store", s.file("store"), "--verbose",
                                "--dns-resolver", "127.0.0.1:\(pebble.dnsPort)", "--dns-timeout", "30")
        #expect(renewed.status == 0, "\(renewed.stderr)")
        #expect(renewed.stderr.contains("_acme-challenge.r.dns.example: all 1 value(s) visible at 127.0.0.1:\(pebble.dnsPort)"), "\(renewed.stderr)")
        // Without a resolver that answers (the tests' default, a closed port) the wait gives up
        // after --dns-timeout, naming the name, and the hook's remove still runs.
        let dead = try certs("renew", "r.dns.example", "--force", "--no-probe", "--store", s.file("store"), "--dns-timeout", "1")
        #expect(dead.status != 0)
        #expect(dead.stderr.contains("_acme-challenge.r.dns.example") && dead.stderr.contains("--dns-timeout"), "\(dead.stderr)")
    }

    @Test func aBadResolverOrTimeoutIsAUsageErrorBeforeAnythingRuns() throws {
        let s = Scratch()
        let bad = try certs(["request", "a.example", "--acme", "https://127.0.0.1:1/dir", "--standalone", "--dns-resolver", "dns.example", "--store", s.file("store")])
        expectOneLineError(bad, exit: 2, mentioning: "--dns-resolver")
        let neg = try certs(["request", "a.example", "--acme", "https://127.0.0.1:1/dir", "--standalone", "--dns-timeout=-1", "--store", s.file("store")])
        expectOneLineError(neg, exit: 2, mentioning: "--dns-timeout")
    }
}
