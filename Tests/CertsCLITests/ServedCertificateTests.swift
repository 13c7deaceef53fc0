import Foundation
import Testing

/// "Served certificate = file" after a renewal: a real nginx on loopback serves the store's
/// certificate; a renewal whose deploy hook does not reload nginx is a failure, not a silent success.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct ServedCertificateTests {
    struct Site {
        let pebble: Pebble
        let s = Scratch()
        let httpsPort = Loopback.freePort()
        let nginx: NginxServer
        var main: String { s.file("nginx-main.conf") }
        var reload: String { "/usr/sbin/nginx -s reload -c \(main) -p \(s.path)" }

        init() throws {
            pebble = try Pebble()
            let r = try certs(["request", "served.example", "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                               "--agree-tos", "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1"])
            #expect(r.status == 0, "\(r.stderr)")
            try FileManager.default.createDirectory(atPath: s.file("conf.d"), withIntermediateDirectories: true)
            let live = s.file("store/live/served.example")
            _ = s.write("conf.d/served.conf", """
                server {
                    listen 127.0.0.1:\(httpsPort) ssl;
                    server_name served.example;
                    ssl_certificate \(live)/fullchain.pem;
                    ssl_certificate_key \(live)/privkey.pem;
                    return 204;
                }
                """)
            nginx = try NginxServer(directory: s.path, include: s.file("conf.d/*.conf"), waitFor: httpsPort)
        }

        func renew(hook: String) throws -> RunResult {
            try certs(["renew", "served.example", "--force", "--store", s.file("store"), "--deploy-hook", hook,
                       "--probe-address", "127.0.0.1", "--probe-port", String(httpsPort), "--json",
                       "--alert", "command=printf '%s\\n' \"$CERTS_ALERT_MESSAGE\" >> \(s.file("alerts.txt"))"])
        }
    }

    @Test func aRenewalWhoseReloadIsSkippedFailsAndOneThatReloadsPasses() throws {
        let site = try Site()
        defer { site.nginx.stop() }
        let skipped = try site.renew(hook: "true")  // the deploy hook "forgot" to reload nginx
        #expect(skipped.status == 1, "\(skipped.stdout)\n\(skipped.stderr)")
        #expect(skipped.stderrLines.count == 1 && skipped.stderr.contains("renewed served.example, but the server does not serve it yet"), "\(skipped.stderr)")
        #expect(skipped.stderr.contains("not the store's certificate"))
        let json = try parseJSONObject(skipped.stdout)
        let probes = json["probes"] as? [[String: Any]] ?? []
        #expect(probes.count == 1 && probes.first?["ok"] as? Bool == false, "\(probes)")
        // ... and alerted, once, saying what the server serves instead.
        let alerts = site.s.read("alerts.txt").split(separator: "\n")
        #expect(alerts.count == 1 && alerts[0].hasPrefix("certs renew FAILED: served.example: ") && alerts[0].contains("not the store's certificate"), "\(alerts)")

        let reloaded = try site.renew(hook: site.reload)
        #expect(reloaded.status == 0, "\(reloaded.stdout)\n\(reloaded.stderr)")
        let ok = (try parseJSONObject(reloaded.stdout))["probes"] as? [[String: Any]] ?? []
        #expect(ok.count == 1 && ok.first?["ok"] as? Bool == true, "\(ok)")
        #expect(site.s.read("alerts.txt").split(separator: "\n").count == 1, "a successful run does not alert")
    }
}
