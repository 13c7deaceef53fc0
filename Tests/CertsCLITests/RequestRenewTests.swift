import Foundation
import Testing

/// `certs renew` against a real Pebble: the recorded request is repeated when due.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct RequestRenewTests {
    func issue(_ pebble: Pebble, _ s: Scratch, _ name: String) throws {
        let r = try certs("request", name, "--agree-tos", "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                          "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1")
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func notDueIsLeftAloneAndForceRenewsWithTheRecordedSettingsThenRunsTheDeployHook() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "one.example")
        try issue(pebble, s, "two.example")
        // Pebble's certificates live five years: not in their last third.
        let idle = try certs("renew", "--all", "--store", s.file("store"), "--deploy-hook", "touch \(s.file("hook-ran"))")
        #expect(idle.status == 0, "\(idle.stderr)")
        #expect(idle.stdout.contains("one.example: not-due"))
        #expect(idle.stdout.contains("renewed 0, not due 2, failed 0"))
        #expect(!s.exists("hook-ran"))

        let hook = "echo \"$CERTS_RENEWED_NAMES|$CERTS_STORE|$CERTS_LIVE_DIR\" > \(s.file("hook.out"))"
        let forced = try certs("renew", "one.example", "--force", "--store", s.file("store"), "--deploy-hook", hook, "--json", "--no-probe")
        #expect(forced.status == 0, "\(forced.stderr)")
        let json = try parseJSONObject(forced.stdout)
        #expect(json["renewed"] as? [String] == ["one.example"])
        #expect(s.read("hook.out") == "one.example|\(s.file("store"))|\(s.file("store"))/live\n")
        #expect(s.listing("store/archive/one.example") == ["0001", "0002"])
        // Each run leaves its heartbeat for `certs check`.
        let beat = try parseJSONObject(s.read("store/renewal/.heartbeat.json"))
        #expect(beat["lastOutcome"] as? String == "success" && beat["lastSuccess"] as? String == beat["lastRun"] as? String, "\(beat)")
        #expect(s.listing("store/archive/two.example") == ["0001"])
    }

    @Test func daysThresholdAndDryRun() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "d.example")
        let dry = try certs("renew", "d.example", "--days", "5000", "--dry-run", "--store", s.file("store"))
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("d.example: due"))
        #expect(s.listing("store/archive/d.example") == ["0001"])
        let real = try certs("renew", "d.example", "--days", "5000", "--store", s.file("store"))
        #expect(real.status == 0, "\(real.stderr)")
        #expect(s.listing("store/archive/d.example") == ["0001", "0002"])
    }

    @Test func aRenewalThatFailsIsReportedWithTheCAsExitCode() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "f.example")
        pebble.stop()
        let r = try certs("renew", "f.example", "--force", "--store", s.file("store"))
        #expect(r.status == 4, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("f.example: failed"))
        #expect(r.stdout.contains("failed 1"))
        let beat = try parseJSONObject(s.read("store/renewal/.heartbeat.json"))
        #expect(beat["lastOutcome"] as? String == "failure", "\(beat)")
        #expect(beat["lastSuccess"] is NSNull, "a run that never succeeded has no last success: \(beat)")
        #expect((beat["lastError"] as? String)?.hasPrefix("f.example: ") == true, "\(beat)")
    }

    @Test func aCAOutageDoesNotFailACertificateThatIsNotDue() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "quiet.example")
        pebble.stop()
        let r = try certs("renew", "--all", "--store", s.file("store"))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("quiet.example: not-due"))
    }

    @Test func aSecondRunWaitsForNoOneWhileTheLockIsHeld() throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("store/renewal"), withIntermediateDirectories: true)
        let holder = try ServerProcess("/usr/bin/flock", [s.file("store/renewal/.lock"), "sleep", "4"], log: s.file("flock.log"))
        defer { holder.stop() }
        usleep(300_000)
        let r = try certs("renew", "--all", "--store", s.file("store"))
        expectOneLineError(r, exit: 1, mentioning: "another certs renew is running")
    }

    @Test func unknownNamesAndMissingArgumentsAreInputErrors() throws {
        let s = Scratch()
        expectOneLineError(try certs("renew", "--store", s.file("store")), exit: 2, mentioning: "--all")
        let r = try certs("renew", "nope.example", "--store", s.file("store"))
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.contains("nope.example.json"))
    }
}
