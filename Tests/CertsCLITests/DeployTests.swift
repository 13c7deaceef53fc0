import Foundation
import Testing

/// `certs deploy` against a real nginx on loopback: swap, `nginx -t`, reload, TLS probe, rollback.
@Suite(.serialized) struct DeployTests {
    /// A running nginx whose http block includes the deploy's conf.d, with test and reload commands
    /// that address exactly this instance (the production shape, with test-only ports and paths).
    struct Site {
        let d: EmitNginxTests.Deployment
        let nginx: NginxServer
        var main: String { d.scratch.file("nginx-main.conf") }
        var testCommand: String { "/usr/sbin/nginx -t -q -c \(main) -p \(d.scratch.path)" }
        var reloadCommand: String { "/usr/sbin/nginx -s reload -c \(main) -p \(d.scratch.path)" }

        init() throws {
            d = try EmitNginxTests.Deployment()
            // Before the first deploy nginx only has a plain HTTP placeholder to listen on.
            try FileManager.default.createDirectory(atPath: "\(d.out)/conf.d", withIntermediateDirectories: true)
            _ = d.scratch.write("nginx/conf.d/placeholder.conf", "server { listen \(d.httpPort); return 204; }\n")
            nginx = try NginxServer(directory: d.scratch.path, include: "\(d.out)/conf.d/*.conf", waitFor: d.httpPort)
            try FileManager.default.removeItem(atPath: "\(d.out)/conf.d/placeholder.conf")
        }

        func deploy(_ extra: [String] = [], reload: String? = nil, statedVersion: Bool = true) throws -> RunResult {
            try certs(["deploy", "--stack", d.stack, "--out", d.out, "--store", d.store] + (statedVersion ? ["--nginx-version", installedNginxVersion] : []) + [
                       "--test-command", testCommand, "--reload-command", reload ?? reloadCommand, "--trust", "\(d.store)/ca/root.pem"] + extra)
        }

        func servedFingerprint(_ name: String) throws -> String {
            let r = try openssl("s_client", "-connect", "127.0.0.1:\(d.httpsPort)", "-servername", name, stdin: [])
            let pem = try #require(r.stdout.range(of: "-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----", options: .regularExpression)).self
            let f = try openssl("x509", "-noout", "-fingerprint", "-sha256", stdin: Array(r.stdout[pem].utf8))
            return f.stdout
        }

        func storeFingerprint(_ name: String) throws -> String {
            try openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", "\(d.store)/live/\(name)/cert.pem").stdout
        }
    }

    @Test func deployEmitsTestsReloadsAndProbesEveryName() throws {
        let site = try Site()
        defer { site.nginx.stop() }
        let r = try site.deploy()
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        for name in ["example.com", "www.example.com", "api.example.com"] {
            #expect(r.stdout.contains("ok   probe \(name): serves the store's certificate"), "\(r.stdout)")
        }
        #expect(try site.servedFingerprint("www.example.com") == (try site.storeFingerprint("example.com")))
        #expect(try site.servedFingerprint("api.example.com") == (try site.storeFingerprint("api.example.com")))
    }

    /// The config is written for the binary that loads it: deploy asks `nginx -V`.
    @Test func deployReadsTheNginxAndOpenSSLVersionsFromTheLiveNginx() throws {
        let site = try Site()
        defer { site.nginx.stop() }
        let v = try run("/usr/sbin/nginx", ["-V"]).stderr
        // The OpenSSL nginx runs with decides what it can offer: "built with OpenSSL 3.0.22 …
        // (running with OpenSSL 3.0.19 …)" when the package was built against a newer libssl.
        let built = try #require(v.split(separator: "\n").first { $0.hasPrefix("built with OpenSSL ") })
        let runningRange = built.range(of: "(running with OpenSSL ")
        let openSSL = try #require((runningRange.map { built[$0.upperBound...] } ?? built.dropFirst("built with OpenSSL ".count))
            .split(separator: " ").first)
        let r = try site.deploy(["--version-command", "/usr/sbin/nginx -V"], statedVersion: false)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("ok   nginx -V: nginx \(installedNginxVersion) with OpenSSL \(openSSL)"), "\(r.stdout)")
        let conf = site.d.scratch.read("nginx/conf.d/example.com.conf")
        #expect(conf.contains("(guideline 6.0, for OpenSSL \(openSSL))"))
        // nginx 1.22 has no `http2 on;`, and an OpenSSL before 3.5 gets no ML-KEM group.
        let older = try #require(SoftwareVersionText(installedNginxVersion)) < [1, 25, 1]
        #expect(conf.contains("http2 on;") == !older)
        #expect(conf.contains("X25519MLKEM768") == !(SoftwareVersionText(String(openSSL))! < [3, 5, 0]))

        // A binary that cannot be asked, and no version stated: refused, nothing changed.
        let refused = try site.deploy(["--version-command", "exit 3"], statedVersion: false)
        #expect(refused.status == 1)
        #expect(refused.stdout.contains("FAIL nginx -V: `exit 3` failed"), "\(refused.stdout)")
    }

    @Test func aRenewalWhoseReloadIsSkippedIsCaughtByTheProbeAndRolledBack() throws {
        let site = try Site()
        defer { site.nginx.stop() }
        #expect(try site.deploy().status == 0)
        let before = try site.servedFingerprint("example.com")
        // A renewal lands in the store, but the "reload" does nothing: nginx keeps serving the old one.
        #expect(try certs("ca", "issue", "--store", site.d.store, "example.com", "www.example.com").status == 0)
        let r = try site.deploy(reload: "true")
        expectOneLineError(r, exit: 1, mentioning: "not the store's certificate")
        #expect(r.stdout.contains("FAIL probe example.com"))
        #expect(try site.servedFingerprint("example.com") == before)
        // A real reload then picks up the renewal.
        let fixed = try site.deploy()
        #expect(fixed.status == 0, "\(fixed.stdout)\n\(fixed.stderr)")
        #expect(try site.servedFingerprint("example.com") == (try site.storeFingerprint("example.com")))
        #expect(try site.servedFingerprint("example.com") != before)
    }

    @Test func aFailingNginxTestLeavesThePreviousConfigInPlace() throws {
        let site = try Site()
        defer { site.nginx.stop() }
        #expect(try site.deploy().status == 0)
        let previous = site.d.scratch.read("nginx/conf.d/example.com.conf")
        // Change the stack so the deploy has something to swap, and break nginx -t with a file certs does not own.
        try String(site.d.scratch.read("stack.yaml").replacingOccurrences(of: "profile: intermediate", with: "profile: modern"))
            .write(toFile: site.d.stack, atomically: true, encoding: .utf8)
        _ = site.d.scratch.write("nginx/conf.d/zz-hand-made.conf", "this is not nginx syntax\n")
        let r = try site.deploy()
        expectOneLineError(r, exit: 1, mentioning: "rolled back")
        #expect(r.stdout.contains("FAIL nginx -t"))
        #expect(r.stdout.contains("ok   rollback"))
        #expect(site.d.scratch.read("nginx/conf.d/example.com.conf") == previous)
        #expect(previous.contains("TLSv1.2 TLSv1.3"))
        // And nginx keeps serving HTTPS with the store's certificate throughout.
        #expect(try site.servedFingerprint("example.com") == (try site.storeFingerprint("example.com")))
        try FileManager.default.removeItem(atPath: site.d.scratch.file("nginx/conf.d/zz-hand-made.conf"))
        #expect(try site.deploy().status == 0)
        #expect(site.d.scratch.read("nginx/conf.d/example.com.conf").contains("ssl_protocols TLSv1.3;"))
    }

    /// The example stack with the local CA (what scripts/demo deploys): deploy ends by saying where
    /// the local CA's root is and how to trust it; with a CA from the system store it says nothing.
    @Test func deployingTheExampleStackWithTheLocalCASaysHowToTrustTheRoot() throws {
        let d = try EmitNginxTests.Deployment()
        let examples = DemoScriptTests.repository + "/examples"
        let example = try String(contentsOfFile: examples + "/stack.yaml", encoding: .utf8)
        #expect(example.contains("source: acme"))
        try FileManager.default.copyItem(atPath: examples + "/db", toPath: d.scratch.file("db"))
        _ = d.scratch.write("stack.yaml", example.replacingOccurrences(of: "source: acme", with: "source: local") + """
        nginx: { certificates: \(d.store), webroot: \(d.scratch.file("www")), http_port: \(d.httpPort), https_port: \(d.httpsPort) }

        """)
        #expect(try certs("ca", "hop", "--stack", d.stack, "--store", d.store).status == 0)
        let r = try certs("deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--nginx-version", installedNginxVersion,
                          "--test-command", "true", "--reload-command", "true", "--no-probe")
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let root = "\(d.store)/ca/root.pem"
        #expect(r.stdout.contains("Its root certificate: \(root)"), "\(r.stdout)")
        #expect(r.stdout.contains("sudo cp \(root) /usr/local/share/ca-certificates/certs-local-ca.crt && sudo update-ca-certificates"), "\(r.stdout)")
        #expect(r.stdout.contains("certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n certs-local-ca -i \(root)"), "\(r.stdout)")
        // The file named is the CA root itself.
        #expect(try openssl("x509", "-noout", "-ext", "basicConstraints", "-in", root).stdout.contains("CA:TRUE"))

        // The same stack with tls.source acme (certificates from a CA everyone trusts): no hint.
        _ = d.scratch.write("stack.yaml", d.scratch.read("stack.yaml").replacingOccurrences(of: "source: local", with: "source: acme"))
        let acme = try certs("deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--nginx-version", installedNginxVersion, "--trust", root,
                             "--test-command", "true", "--reload-command", "true", "--no-probe")
        #expect(acme.status == 0, "\(acme.stdout)\n\(acme.stderr)")
        #expect(!acme.stdout.contains("Its root certificate"), "\(acme.stdout)")
    }

    @Test func dryRunPrintsTheDiffAndChangesNothing() throws {
        let d = try EmitNginxTests.Deployment()
        let r = try certs("deploy", "--dry-run", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("+++ b/conf.d/example.com.conf"))
        #expect(r.stdout.contains("+    ssl_protocols TLSv1.2 TLSv1.3;"))
        #expect(!d.scratch.exists("nginx/conf.d/example.com.conf"))
    }

    @Test func aCertificateThatDoesNotCoverAnAliasIsRefusedBeforeAnythingIsWritten() throws {
        let d = try EmitNginxTests.Deployment()
        // Re-issue example.com without its alias www.example.com.
        #expect(try certs("ca", "issue", "--store", d.store, "example.com").status == 0)
        let r = try certs("deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem",
                          "--test-command", "true", "--reload-command", "true", "--no-probe")
        expectOneLineError(r, exit: 1, mentioning: "refused")
        #expect(r.stdout.contains("www.example.com"))
        #expect(!d.scratch.exists("nginx/conf.d/example.com.conf"))
    }

    @Test func aCertificateInsideTheCriticalWindowIsRefused() throws {
        let d = try EmitNginxTests.Deployment()
        #expect(try certs("ca", "issue", "--store", d.store, "api.example.com", "--days", "3").status == 0)
        let r = try certs("deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem",
                          "--test-command", "true", "--reload-command", "true", "--no-probe", "--crit", "7")
        // --crit 7: days only (the default 7,10% scales with the lifetime and lets a 3-day certificate pass, as check does).
        expectOneLineError(r, exit: 1, mentioning: "critical threshold")
    }
}

/// "1.22.1" as [1, 22, 1] for comparisons in tests (independent of the product's parser).
func SoftwareVersionText(_ s: String) -> [Int]? {
    let parts = s.split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
    guard parts.allSatisfy({ $0 != nil }) else { return nil }
    return parts.map { $0! }
}

extension Array where Element == Int {
    static func < (a: [Int], b: [Int]) -> Bool { a.lexicographicallyPrecedes(b) }
}
