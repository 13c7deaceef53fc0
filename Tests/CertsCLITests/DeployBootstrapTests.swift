import Foundation
import Testing

/// The first deploy on a fresh VM: no certificate exists, so nginx cannot load an HTTPS config.
/// `certs deploy` goes HTTP (ACME challenges) → certificate → HTTPS in one command, against a real
/// nginx on loopback and a real Pebble (or the local CA).
@Suite(.serialized) struct DeployBootstrapTests {
    /// A fresh machine: a running nginx with nothing but a sentinel server, an empty store.
    struct FreshSite {
        let s = Scratch()
        let httpPort: Int
        let httpsPort = Loopback.freePort()
        let sentinelPort = Loopback.freePort()
        let nginx: NginxServer
        var store: String { s.file("store") }
        var out: String { s.file("nginx") }
        var stack: String { s.file("stack.yaml") }
        var main: String { s.file("nginx-main.conf") }

        init(httpPort: Int = Loopback.freePort(), tls: String) throws {
            self.httpPort = httpPort
            try FileManager.default.createDirectory(atPath: s.file("nginx/conf.d"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: s.file("www"), withIntermediateDirectories: true)
            // Not written by certs (no header): deploy leaves it alone, and it lets nginx start.
            _ = s.write("nginx/conf.d/zz-sentinel.conf", "server { listen 127.0.0.1:\(sentinelPort); return 204; }\n")
            _ = s.write("stack.yaml", """
            domains:
              - name: boot.example
                aliases: [www.boot.example]
                routes:
                  - { path: /, service: backend, port: 9 }
            tls: \(tls)
            services:
              backend: { build: ./backend, host: 127.0.0.1, tls: plain }
            nginx: { certificates: \(s.file("store")), webroot: \(s.file("www")), http_port: \(httpPort), https_port: \(httpsPort) }
            """)
            nginx = try NginxServer(directory: s.path, include: "\(s.file("nginx"))/conf.d/*.conf", waitFor: sentinelPort)
        }

        func deploy(_ extra: [String]) throws -> RunResult {
            try certs(["deploy", "--stack", stack, "--out", out, "--store", store, "--nginx-version", installedNginxVersion,
                       "--test-command", "/usr/sbin/nginx -t -q -c \(main) -p \(s.path)",
                       "--reload-command", "/usr/sbin/nginx -s reload -c \(main) -p \(s.path)", "--json"] + extra)
        }

        /// What plain HTTP on the site's port answers for `path` with Host `host`.
        func http(_ path: String, host: String = "boot.example") throws -> (status: String, headers: String) {
            let r = try run("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-D", "-", "-H", "Host: \(host)", "http://127.0.0.1:\(httpPort)\(path)"])
            return (String(r.stdout.prefix(while: { $0 != "\r" && $0 != "\n" })), r.stdout)
        }

        func stepNames(_ json: [String: Any]) -> [String] {
            (json["steps"] as? [[String: Any]] ?? []).map { "\($0["step"] ?? "")=\($0["ok"] as? Bool == true ? "ok" : "fail")" }
        }
    }

    @Test(.enabled(if: pebbleInstalled, "needs Debian's pebble"))
    func aFreshVMGoesFromHTTPToAnACMECertificateToHTTPSInOneDeploy() throws {
        let pebble = try Pebble()
        let site = try FreshSite(httpPort: pebble.httpPort,
                                 tls: "{ profile: intermediate, source: acme, acme: \"\(pebble.directoryURL)\", email: ops@boot.example }")
        defer { site.nginx.stop() }
        let r = try site.deploy(["--agree-tos", "--ca-bundle", pebble.caBundle, "--trust", try pebble.rootFile()])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let json = try parseJSONObject(r.stdout)
        let steps = site.stepNames(json)
        // First the live nginx's versions (`nginx -V`), then the bootstrap.
        #expect(steps.prefix(2) == ["nginx -V=ok", "bootstrap: HTTP for boot.example=ok"], "\(steps)")
        #expect(steps.contains("obtain boot.example=ok"), "\(steps)")
        #expect(steps.contains("probe boot.example=ok") && steps.contains("probe www.boot.example=ok"), "\(steps)")
        // Pebble validated both names through nginx's challenge location, and the files are gone.
        #expect(site.s.listing("www/.well-known/acme-challenge") == [])
        #expect(site.s.exists("store/renewal/boot.example.json"), "certs renew must be able to repeat the request")
        // Now HTTPS is live and HTTP redirects. nginx's reload is graceful: an old worker may still
        // answer a connection with the bootstrap config for a moment, so allow it up to 5 s.
        var redirect = try site.http("/").status
        for _ in 0..<50 where !redirect.contains("301") {
            usleep(100_000)
            redirect = try site.http("/").status
        }
        #expect(redirect.contains("301"), "\(redirect)")
        let served = try openssl("s_client", "-connect", "127.0.0.1:\(site.httpsPort)", "-servername", "www.boot.example", stdin: [])
        #expect(served.stdout.contains("boot.example"), "\(served.stdout)")
        // A second deploy has nothing to bootstrap.
        let again = try site.deploy(["--trust", try pebble.rootFile()])
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(!site.stepNames(try parseJSONObject(again.stdout)).contains { $0.hasPrefix("bootstrap") })
    }

    @Test(.enabled(if: pebbleInstalled, "needs Debian's pebble"))
    func whenTheCertificateCannotBeObtainedTheHTTPConfigStaysAndServesChallenges() throws {
        let pebble = try Pebble()
        let site = try FreshSite(httpPort: pebble.httpPort,
                                 tls: "{ profile: intermediate, source: acme, acme: \"\(pebble.directoryURL)\" }")
        defer { site.nginx.stop() }
        // No --agree-tos: Pebble refuses to create the account.
        let r = try site.deploy(["--ca-bundle", pebble.caBundle, "--trust", try pebble.rootFile()])
        #expect(r.status == 1, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains("obtain boot.example"), "\(r.stderr)")
        #expect(!site.s.exists("store/live/boot.example"))
        // nginx runs the valid HTTP-only config: 503 for the site, the challenge path is served.
        let page = try site.http("/")
        #expect(page.status.contains("503") && page.headers.contains("Retry-After"), "\(page.headers)")
        try FileManager.default.createDirectory(atPath: site.s.file("www/.well-known/acme-challenge"), withIntermediateDirectories: true)
        _ = site.s.write("www/.well-known/acme-challenge/probe-token", "ok")
        #expect(try site.http("/.well-known/acme-challenge/probe-token").status.contains("200"))
    }

    @Test func aLocalCAStackBootstrapsFromTheLocalCA() throws {
        let site = try FreshSite(tls: "{ profile: modern, source: local }")
        defer { site.nginx.stop() }
        #expect(try certs("ca", "init", "--store", site.store).status == 0)
        let r = try site.deploy([])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let steps = site.stepNames(try parseJSONObject(r.stdout))
        #expect(steps.contains("obtain boot.example=ok") && steps.contains("probe www.boot.example=ok"), "\(steps)")
        // The HTTPS probe reached the new workers, but the port-80 listener is shared with the
        // bootstrap config's workers until they have finished shutting down (nginx's graceful
        // reload): under load one more request can still get their 503. Wait for them (≤ 5 s).
        var status = try site.http("/").status
        let deadline = Date().addingTimeInterval(5)
        while !status.contains("301") && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            status = try site.http("/").status
        }
        #expect(status.contains("301"), "\(status)")
    }

    @Test func noBootstrapRefusesAsBefore() throws {
        let site = try FreshSite(tls: "{ profile: modern, source: local }")
        defer { site.nginx.stop() }
        #expect(try certs("ca", "init", "--store", site.store).status == 0)
        let r = try site.deploy(["--no-bootstrap"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("no certificate in the store for boot.example"), "\(r.stderr)")
        #expect(site.s.listing("nginx/conf.d") == ["zz-sentinel.conf"])
    }
}
