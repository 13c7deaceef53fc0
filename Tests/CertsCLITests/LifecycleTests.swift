import Foundation
import Testing

/// The lifecycle gaps certbot, lego and the monitors leave open, end to end on loopback with a
/// real Pebble, a real nginx and a webhook receiver: failures alert (not only expiry), and the
/// renewal cron job that quietly stopped is caught by the nightly check.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct LifecycleTests {
    func issue(_ pebble: Pebble, _ s: Scratch, _ name: String) throws {
        let r = try certs(["request", name, "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                           "--agree-tos", "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func aFailingDeployHookExitsNonZeroAndAlertsOnceWithTheLinesThatMatter() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "hook.example")
        let hook = try WebhookReceiver(scratch: s)
        let r = try certs(["renew", "hook.example", "--force", "--store", s.file("store"), "--alert", "webhook=\(hook.url)",
                           "--deploy-hook", "echo 'nginx: [emerg] cannot load certificate key' >&2; exit 1"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains("the deploy hook failed"), "\(r.stderr)")
        let alerts = try hook.bodies()
        #expect(alerts.count == 1, "\(alerts)")
        let text = alerts.first?["text"] as? String ?? ""
        #expect(text.hasPrefix("certs renew FAILED") && text.contains("cannot load certificate key"), "\(text)")
        // The failure is the heartbeat's last outcome too.
        let beat = try parseJSONObject(s.read("store/renewal/.heartbeat.json"))
        #expect(beat["lastOutcome"] as? String == "failure")
    }

    @Test func aRenewalTheCACannotDoAlertsThroughACommand() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "down.example")
        pebble.stop()
        let r = try certs(["renew", "down.example", "--force", "--store", s.file("store"),
                           "--alert", "command=printf '%s|%s' \"$CERTS_ALERT_KIND\" \"$CERTS_ALERT_MESSAGE\" >> \(s.file("alerts.txt"))"])
        #expect(r.status == 4, "\(r.stderr)")
        let alert = s.read("alerts.txt")
        #expect(alert.hasPrefix("renewal|certs renew FAILED: down.example: "), "\(alert)")
        #expect(alert.components(separatedBy: "certs renew FAILED").count == 2, "exactly one alert: \(alert)")
    }

    @Test func aStaleRenewalHeartbeatWarnsInTheNightlyCheck() throws {
        let pebble = try Pebble(), s = Scratch()
        try issue(pebble, s, "beat.example")
        // Requested but renew never ran: the cron line was never installed.
        let never = try certs(["check", "--store", s.file("store"), "--format", "json", "--trust", try pebble.rootFile()])
        #expect(never.status == 1, "\(never.stdout)")
        #expect(never.stdout.contains("renewal-never-ran"))

        #expect(try certs(["renew", "--all", "--store", s.file("store")]).status == 0)
        let fresh = try certs(["check", "--store", s.file("store"), "--trust", try pebble.rootFile(), "--format", "prometheus"])
        #expect(fresh.status == 0, "\(fresh.stdout)")
        #expect(fresh.stdout.contains("certs_renew_last_success_timestamp_seconds "))
        #expect(fresh.stdout.contains("certs_renew_last_run_success 1"))

        // Three days later nothing has run again: the check warns and says why.
        let later = try certs(["check", "--store", s.file("store"), "--trust", try pebble.rootFile(), "--at", String(Int(Date().timeIntervalSince1970) + 3 * 86400)])
        #expect(later.status == 1, "\(later.stdout)")
        #expect(later.stdout.hasPrefix("CERTS WARNING"), "\(later.stdout)")
        #expect(later.stdout.contains("no successful certs renew run for 48 hours"), "\(later.stdout)")
        // A wider window accepts it.
        let tolerant = try certs(["check", "--store", s.file("store"), "--trust", try pebble.rootFile(), "--renewal-max-age", "96",
                                  "--at", String(Int(Date().timeIntervalSince1970) + 3 * 86400)])
        #expect(tolerant.status == 0, "\(tolerant.stdout)")
    }

    @Test func aFailedDeployAlertsOnceAndSaysThePreviousConfigServes() throws {
        let d = try EmitNginxTests.Deployment()
        let r = try certs(["deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem",
                           "--test-command", "echo 'nginx: [emerg] unknown directive \"ssl_bogus\"' >&2; exit 1", "--reload-command", "true",
                           "--alert", "command=printf '%s\\n' \"$CERTS_ALERT_MESSAGE\" >> \(d.scratch.file("alerts.txt"))"])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        let alerts = d.scratch.read("alerts.txt").split(separator: "\n")
        #expect(alerts.count == 1, "\(alerts)")
        #expect(alerts.first?.hasPrefix("certs deploy FAILED: nginx -t:") == true, "\(alerts)")
        #expect(alerts.first?.contains("unknown directive") == true && alerts.first?.contains("rolled back") == true, "\(alerts)")
    }
}
