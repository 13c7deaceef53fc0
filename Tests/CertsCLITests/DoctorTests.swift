import Foundation
import Testing

/// `certs doctor` on a deployment tree made by certs itself (local CA certificates, emitted compose
/// and nginx files): clean, then with each pitfall planted on its own.
@Suite struct DoctorTests {
    struct Tree {
        let scratch = Scratch()
        var stack: String { scratch.file("stack.yaml") }
        var store: String { scratch.file("certs") }
        var live: String { "\(store)/live/example.com" }

        init(days: Int = 90) throws {
            try FileManager.default.createDirectory(atPath: scratch.file("db"), withIntermediateDirectories: true)
            _ = scratch.write("db/init.sql", "CREATE DATABASE app;\n")
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: scratch.file("db/init.sql"))
            _ = scratch.write("stack.yaml", """
            domains:
              - name: example.com
                aliases: [www.example.com]
                routes:
                  - { path: /,    service: backend, port: 8080 }
                  - { path: /ai/, service: ai, port: 8000 }
            tls: { source: local }
            services:
              backend: { build: ./backend, healthcheck: "true" }
              ai:      { build: ./ai, host: 10.0.2.15 }
              db:      { image: "mysql:8.4", init: ./db/init.sql }
            """)
            #expect(try certs("ca", "init", "--store", store).status == 0)
            let issue = try certs("ca", "issue", "--store", store, "--days", "\(days)", "example.com", "www.example.com")
            #expect(issue.status == 0, "\(issue.stderr)")
            // 60 days: outside the 30-day windows the expiry tests below use for the domain's certificate.
            #expect(try certs("ca", "hop", "--stack", stack, "--store", store, "--days", "60").status == 0)
            #expect(try certs("emit", "compose", "--stack", stack).status == 0)
            #expect(try certs("emit", "compose", "--stack", stack, "--host", "10.0.2.15").status == 0)
            #expect(try certs("emit", "nginx", "--stack", stack, "--store", store, "--out", scratch.file("nginx")).status == 0)
        }

        func doctor(_ extra: String...) throws -> RunResult {
            try certs(["doctor", "--stack", stack, "--store", store] + extra)
        }

        /// Runs doctor --json and returns the findings' codes (and the exit status).
        func findings(_ extra: String...) throws -> (status: Int32, codes: [String], findings: [[String: Any]]) {
            let r = try certs(["doctor", "--stack", stack, "--store", store, "--json"] + extra)
            let json = try parseJSONObject(r.stdout)
            let findings = (json["findings"] as? [[String: Any]]) ?? []
            return (r.status, findings.compactMap { $0["code"] as? String }, findings)
        }

        func replace(_ file: String, _ old: String, _ new: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let text = scratch.read(file)
            #expect(text.contains(old), "\(file) lacks \(old)", sourceLocation: sourceLocation)
            _ = scratch.write(file, text.replacing(old, with: new, maxReplacements: 1))
        }

        func chmod(_ path: String, _ mode: Int) throws {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        }
    }

    /// Every finding names where, what and how to fix it.
    func expectWellFormed(_ findings: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) {
        for f in findings {
            for key in ["code", "severity", "location", "message", "fix"] {
                #expect(((f[key] as? String) ?? "").isEmpty == false, "\(key) missing in \(f)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func aCleanTreeHasNoFindingsAndExitsZero() throws {
        let t = try Tree()
        let r = try t.doctor()
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.hasPrefix("ok: no problems found (2 compose files, nginx config"), "\(r.stdout)")
        let j = try t.findings()
        #expect(j.status == 0 && j.codes.isEmpty, "\(j.findings)")
        let json = try parseJSONObject(try t.doctor("--json").stdout)
        #expect(json["version"] as? Int == 1 && json["ok"] as? Bool == true)
    }

    @Test func aPrivateKeyReadableByOthersIsAnError() throws {
        let t = try Tree()
        try t.chmod("\(t.live)/privkey.pem", 0o644)
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["key-permissions"])
        #expect((j.findings.first?["fix"] as? String)?.contains("chmod 0600") == true)
        expectWellFormed(j.findings)
        let text = try t.doctor()
        #expect(text.status == 1 && text.stdout.contains("fix: chmod 0600"))
    }

    @Test func aKeyTheUnprivilegedNginxUserCannotReadIsAnError() throws {
        let t = try Tree()
        #expect(try t.findings("--nginx-user", "\(getuid())").codes.isEmpty)  // its owner can
        let j = try t.findings("--nginx-user", "64101:64101")
        #expect(j.status == 1)
        #expect(j.codes == ["key-unreadable"])
        #expect((j.findings.first?["message"] as? String)?.contains("64101:64101") == true)
    }

    @Test func anInitScriptTheContainerUserCannotReadIsAnError() throws {
        let t = try Tree()
        try t.chmod(t.scratch.file("db/init.sql"), 0o600)
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["init-unreadable"])
        #expect((j.findings.first?["fix"] as? String) == "chmod 0644 \(t.scratch.file("db/init.sql"))")
        expectWellFormed(j.findings)
    }

    @Test func aKeyThatDoesNotMatchTheCertificateIsAnError() throws {
        let t = try Tree()
        let other = t.scratch.file("other.key")
        _ = try opensslOK("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", other)
        let target = "\(t.live)/privkey.pem"
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: other, toPath: target)
        try t.chmod(target, 0o600)
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["key-mismatch"])
    }

    @Test func aChainMissingItsIntermediateIsAnError() throws {
        let t = try Tree()
        let leafOnly = t.scratch.read("certs/live/example.com/cert.pem")
        _ = t.scratch.write("certs/live/example.com/fullchain.pem", leafOnly)
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["chain-incomplete"])
    }

    @Test func aChainInTheWrongOrderIsAnError() throws {
        let t = try Tree()
        let leaf = t.scratch.read("certs/live/example.com/cert.pem")
        let chain = t.scratch.read("certs/live/example.com/chain.pem")
        _ = t.scratch.write("certs/live/example.com/fullchain.pem", chain + leaf)
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes.contains("chain-order"), "\(j.codes)")
    }

    @Test func aServiceOffTheSharedNetworkIsAnError() throws {
        let t = try Tree()
        t.replace("compose.yaml", "    networks:\n      - certs\n", "    networks:\n      - backend-only\n")
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["not-on-shared-network"])
        #expect((j.findings.first?["location"] as? String)?.hasSuffix("services.backend") == true)
    }

    @Test func anUpstreamByContainerIPIsAnError() throws {
        let t = try Tree()
        t.replace("nginx/conf.d/example.com.conf", "http://backend:8080", "http://172.18.0.5:8080")
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["upstream-by-ip"])
        #expect((j.findings.first?["location"] as? String)?.contains("example.com.conf:") == true)
    }

    @Test func aContainerIPInAServicesEnvironmentIsAnError() throws {
        let t = try Tree()
        t.replace("compose.yaml", "    restart: unless-stopped\n", "    restart: unless-stopped\n    environment:\n      DB_HOST: 172.18.0.3\n")
        #expect(try t.findings().codes == ["upstream-by-ip"])
    }

    @Test func twoServicesPublishingOneHostPortClash() throws {
        let t = try Tree()
        t.replace("compose.yaml", "    restart: unless-stopped\n", "    restart: unless-stopped\n    ports:\n      - \"443:8443\"\n")
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(j.codes == ["port-clash"])
    }

    @Test func twoServicesOnOneOtherVMWithTheSamePortClash() throws {
        let t = try Tree()
        t.replace("stack.yaml", "backend: { build: ./backend, healthcheck: \"true\" }", "backend: { build: ./backend, host: 10.0.2.15, port: 8000 }")
        let j = try t.findings("--compose", t.scratch.file("compose.yaml"))
        #expect(j.status == 1)
        #expect(j.codes.contains("port-clash"), "\(j.codes)")
    }

    /// The hop to the other VM: `tls: plain` is a warning; a missing or readable hop key is an error;
    /// a hop certificate near its end is reported with the renew command.
    @Test func theHopsCertificatesAndPlainHopsAreChecked() throws {
        let t = try Tree()
        t.replace("stack.yaml", "ai:      { build: ./ai, host: 10.0.2.15 }", "ai:      { build: ./ai, host: 10.0.2.15, tls: plain }")
        let plain = try t.findings()
        #expect(plain.codes == ["hop-plain"], "\(plain.findings)")
        #expect(plain.status == 0)
        expectWellFormed(plain.findings)

        let u = try Tree()
        try u.chmod("\(u.store)/live/hop-client/privkey.pem", 0o644)
        try u.chmod("\(u.store)/hop-ca/intermediate-key.pem", 0o640)
        let loose = try u.findings()
        #expect(loose.status == 1)
        #expect(loose.codes == ["key-permissions", "key-permissions"], "\(loose.findings)")

        try FileManager.default.removeItem(atPath: "\(u.store)/live/hop-ai")
        let missing = try u.findings()
        #expect(missing.codes.contains("hop-certificate-missing"), "\(missing.findings)")
        #expect(missing.findings.contains { ($0["fix"] as? String)?.contains("certs ca hop") == true })

        let w = try Tree()
        #expect(try certs("ca", "hop", "--stack", w.stack, "--store", w.store, "--days", "5", "--force").status == 0)
        let expiring = try w.findings("--warn", "30", "--crit", "3")
        #expect(expiring.codes == ["certificate-expiring", "certificate-expiring"], "\(expiring.findings)")
        #expect(expiring.findings.allSatisfy { ($0["fix"] as? String)?.contains("certs renew hop-") == true })
    }

    @Test func theStoreMountedWritableIsAnError() throws {
        let t = try Tree()
        t.replace("compose.yaml", "./certs:/etc/certs:ro", "./certs:/etc/certs")
        #expect(try t.findings().codes == ["store-writable"])
    }

    @Test func aCertificateExpiringWithinTheWarningWindowIsAWarning() throws {
        // Days-only thresholds (the default 30,33% leaves a 20-day certificate alone, as check does).
        let t = try Tree(days: 20)
        let j = try t.findings("--warn", "30", "--crit", "7")
        #expect(j.status == 0)
        #expect(j.codes == ["certificate-expiring"])
        #expect(j.findings.first?["severity"] as? String == "warning")
    }

    @Test func aCertificateExpiringWithinTheCriticalWindowIsAnError() throws {
        let t = try Tree(days: 3)
        let j = try t.findings("--warn", "30", "--crit", "7")
        #expect(j.status == 1)
        #expect(j.codes == ["certificate-expiring"])
        #expect(j.findings.first?["severity"] as? String == "error")
    }

    @Test func aMissingCertificateIsAnError() throws {
        let t = try Tree()
        try FileManager.default.removeItem(atPath: t.live)
        #expect(try t.findings().codes == ["certificate-missing"])
    }

    @Test func everyPitfallAtOnceIsFoundInOneRun() throws {
        let t = try Tree()
        try t.chmod("\(t.live)/privkey.pem", 0o644)
        try t.chmod(t.scratch.file("db/init.sql"), 0o600)
        t.replace("compose.yaml", "    networks:\n      - certs\n", "    networks:\n      - backend-only\n")
        t.replace("nginx/conf.d/example.com.conf", "http://backend:8080", "http://172.18.0.5:8080")
        let j = try t.findings()
        #expect(j.status == 1)
        #expect(Set(j.codes) == ["key-permissions", "init-unreadable", "not-on-shared-network", "upstream-by-ip"])
        expectWellFormed(j.findings)
    }

    @Test func aBadStackFileIsExitTwo() throws {
        let t = try Tree()
        _ = t.scratch.write("stack.yaml", "domains: [\n")
        expectOneLineError(try t.doctor(), exit: 2, mentioning: "stack.yaml:")
        expectOneLineError(try certs("doctor", "--stack", t.scratch.file("missing.yaml")), exit: 2, mentioning: "no such file")
    }
}
