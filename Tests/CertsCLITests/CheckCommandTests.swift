import Foundation
import Testing

/// A store with a local CA and certificates that expire in 3, 20 and 90 days, plus an expired one.
final class CheckFixture {
    let scratch = Scratch()
    var store: String { scratch.file("store") }
    let now = Int64(Date().timeIntervalSince1970)

    init(names: [(String, Int)] = [("soon.test", 3), ("month.test", 20), ("fine.test", 90)], expired: Bool = true) throws {
        try expectOK(certs("ca", "init", "--store", store))
        for (name, days) in names { try issue(name, days: days) }
        if expired {
            let start = Date(timeIntervalSince1970: TimeInterval(now - 40 * 86400))
            let iso = ISO8601DateFormatter().string(from: start)
            try expectOK(certs("ca", "issue", "--store", store, "old.test", "--days", "10", "--valid-from", iso))
        }
    }

    /// A 90-day certificate (the usual ACME lifetime) with `days` left.
    func issue(_ name: String, days: Int) throws {
        let start = Date(timeIntervalSince1970: TimeInterval(now - Int64(90 - days) * 86400 - 60))
        try expectOK(certs("ca", "issue", "--store", store, name, "--days", "90", "--valid-from", ISO8601DateFormatter().string(from: start)))
    }

    func live(_ name: String, _ file: String = "fullchain.pem") -> String { "\(store)/live/\(name)/\(file)" }

    func expectOK(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "\(r.stderr)", sourceLocation: sourceLocation)
    }
}

/// `openssl s_server` on loopback serving a store certificate, stopped with SIGKILL.
final class TLSTestServer {
    let server: ServerProcess
    let port: Int

    init(cert: String, key: String, chain: String?, host: String = "127.0.0.1", log: String) throws {
        port = Loopback.freePort()
        let accept = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var args = ["s_server", "-accept", accept, "-cert", cert, "-key", key, "-quiet"]
        if let chain { args += ["-cert_chain", chain] }
        server = try ServerProcess("/usr/bin/openssl", args, log: log)
        guard Loopback.waitForListener(port, host: host) else { throw CheckTestError("openssl s_server did not start on \(accept)") }
    }

    deinit { kill(server.pid, SIGKILL); server.stop() }
}

/// Tests/Fixtures/http_fixture.py recording every POST body (one line each).
final class WebhookReceiver {
    let server: ServerProcess
    let port: Int
    let record: String

    init(scratch: Scratch) throws {
        port = Loopback.freePort()
        record = scratch.file("webhook-record.txt")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/http_fixture.py").path
        server = try ServerProcess("/usr/bin/python3", [script, "--port", String(port), "--record", record], log: scratch.file("webhook.log"))
        guard Loopback.waitForListener(port) else { throw CheckTestError("http_fixture.py did not start") }
    }

    var url: String { "http://127.0.0.1:\(port)/hooks/T123/secret" }

    /// Every recorded POST body, parsed.
    func bodies() throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try parseJSONObject(String($0)) }
    }

    deinit { kill(server.pid, SIGKILL); server.stop() }
}

struct CheckTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func checkJSON(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try parseJSONObject(r.stdout, sourceLocation: sourceLocation)
}

func results(_ doc: [String: Any]) -> [[String: Any]] { doc["results"] as? [[String: Any]] ?? [] }

@Suite(.serialized) struct CheckCommandTests {
    @Test func exitCodeIsTheWorstCertificatesMonitoringPluginStatus() throws {
        let f = try CheckFixture()
        let ok = try certs("check", f.live("fine.test"))
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("CERTS OK - 1 certificate, soonest expires in 89 days"), "\(ok.stdout)")
        #expect(ok.stdout.split(separator: "\n")[0].contains(" | certificates=1;;;0"))

        let warning = try certs("check", f.live("fine.test"), f.live("month.test"))
        #expect(warning.status == 1, "\(warning.stdout)")
        #expect(warning.stdout.hasPrefix("CERTS WARNING - 2 certificates (1 warning), soonest expires in 19 days"), "\(warning.stdout)")

        let critical = try certs("check", f.live("fine.test"), f.live("month.test"), f.live("soon.test"))
        #expect(critical.status == 2, "\(critical.stdout)")
        let expired = try certs("check", f.live("old.test"))
        #expect(expired.status == 2)
        // Expired exactly 30 days before issue time: 30 in that second, 31 (floored) a second later; the text
        // and soonest_days_left always say the same number.
        #expect((expired.stdout.contains("expired 30 days ago") && expired.stdout.contains("soonest_days_left=-30;"))
                || (expired.stdout.contains("expired 31 days ago") && expired.stdout.contains("soonest_days_left=-31;")), "\(expired.stdout)")

        // The table is sorted by days left, most urgent first.
        let table = try certs("check", "--store", f.store)
        let rows = table.stdout.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.map { String($0[3]) } == ["old.test", "soon.test", "month.test", "fine.test"], "\(table.stdout)")
        #expect(rows.map { String($0[0]) } == ["CRITICAL", "CRITICAL", "WARNING", "OK"])
        #expect(!table.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
    }

    /// The verdict cache: written 0600 under $XDG_CACHE_HOME, used by the next run with the same
    /// output, and neither read nor written with --no-cache.
    @Test func theVerdictCacheGivesTheSameReportAndNoCacheWritesNone() throws {
        let f = try CheckFixture()
        let cacheHome = f.scratch.file("xdg")
        let env = ["XDG_CACHE_HOME": cacheHome]
        // One pinned time for the three runs: days left are rounded down, so runs a second apart
        // around a whole number of days (the fixture's certificates are made "now") differ by one.
        let at = String(f.now + 3600)
        let none = try certs("check", "--no-cache", "--json", "--at", at, "--store", f.store, environment: env)
        #expect(!FileManager.default.fileExists(atPath: cacheHome))
        let first = try certs("check", "--json", "--at", at, "--store", f.store, environment: env)
        let path = "\(cacheHome)/certs/check-verdicts"
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o700, "a directory of shards")
        let shards = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.count == 2 }
        #expect(!shards.isEmpty)
        for shard in shards { #expect(try FileManager.default.attributesOfItem(atPath: "\(path)/\(shard)")[.posixPermissions] as? Int == 0o600) }
        let second = try certs("check", "--json", "--at", at, "--store", f.store, environment: env)
        #expect(none.status == 2 && first.status == 2 && second.status == 2)
        // The reports differ only in the time they were made at.
        func body(_ r: RunResult) throws -> [[String: Any]] { results(try parseJSONObject(r.stdout)) }
        let a = try body(none), b = try body(first), c = try body(second)
        #expect(!a.isEmpty && a.count == b.count && a.count == c.count)
        func canonical(_ list: [[String: Any]]) throws -> [String] {
            try list.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        }
        #expect(try canonical(a) == canonical(b))
        #expect(try canonical(a) == canonical(c))
    }

    /// A chain no client accepts is CRITICAL however many days it has left, in a file as on a
    /// server: here a leaf for client authentication only, under the store's own CA.
    @Test func aFileWhoseChainDoesNotVerifyIsCriticalWhateverTheDaysLeft() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let ca = "\(f.store)/ca"
        #expect(try openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=client.test",
                            "-keyout", f.scratch.file("client.key"), "-out", f.scratch.file("client.csr")).status == 0)
        let ext = f.scratch.write("client.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:client.test\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n")
        #expect(try openssl("x509", "-req", "-in", f.scratch.file("client.csr"), "-CA", "\(ca)/intermediate.pem", "-CAkey", "\(ca)/intermediate-key.pem",
                            "-set_serial", "0x1234", "-days", "60", "-extfile", ext, "-out", f.scratch.file("client.pem")).status == 0)
        let bundle = f.scratch.write("client-fullchain.pem", f.scratch.read("client.pem") + ((try? String(contentsOfFile: "\(ca)/intermediate.pem", encoding: .utf8)) ?? ""))
        let r = try certs("check", "--json", "--trust", "\(ca)/root.pem", bundle, f.live("fine.test"))
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        let bySource = Dictionary(uniqueKeysWithValues: results(try checkJSON(r)).map { ($0["source"] as! String, $0) })
        #expect(bySource[bundle]?["status"] as? String == "CRITICAL")
        #expect(bySource[bundle]?["chainValid"] as? Bool == false)
        #expect((bySource[bundle]?["chainErrors"] as? [String])?.contains("wrong-purpose") == true, "\(bySource[bundle] ?? [:])")
        #expect(bySource[f.live("fine.test")]?["status"] as? String == "OK", "the good chain next to it stays OK")
    }

    /// What a scan finds but cannot read is UNKNOWN with its path and reason, in text, JSON and
    /// Prometheus: never an OK summary, never missing from the counts. Run as `nobody`, since
    /// root reads everything.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") && getuid() == 0, "needs root and setpriv"))
    func whatTheScanCannotReadIsUnknownNeverOK() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let tree = f.scratch.file("scan")
        for d in ["\(tree)/ok", "\(tree)/locked"] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try FileManager.default.copyItem(atPath: f.live("fine.test"), toPath: "\(tree)/ok/site.pem")
        try FileManager.default.copyItem(atPath: f.live("fine.test"), toPath: "\(tree)/ok/private.pem")
        try FileManager.default.copyItem(atPath: f.live("fine.test"), toPath: "\(tree)/locked/hidden.pem")
        _ = f.scratch.write("scan/ok/README.txt", "not a certificate\n")
        let binary = f.scratch.file("certs-copy")
        try FileManager.default.copyItem(atPath: certsBinary, toPath: binary)
        for (path, mode) in [(f.scratch.path, 0o755), (tree, 0o755), ("\(tree)/ok", 0o755), ("\(tree)/ok/site.pem", 0o644),
                             ("\(tree)/ok/README.txt", 0o644), ("\(tree)/ok/private.pem", 0o600), ("\(tree)/locked", 0o000),
                             (binary, 0o755), (f.store, 0o755), ("\(f.store)/ca", 0o755), ("\(f.store)/ca/root.pem", 0o644)] {
            #expect(chmod(path, mode_t(mode)) == 0, "chmod \(path)")
        }
        defer { chmod("\(tree)/locked", 0o755) }
        func asNobody(_ args: [String]) throws -> RunResult {
            try run("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", binary, "check", "--trust", "\(f.store)/ca/root.pem"] + args + [tree])
        }
        let text = try asNobody([])
        #expect(text.status == 3, "\(text.stdout)\(text.stderr)")
        #expect(text.stdout.hasPrefix("CERTS UNKNOWN"), "\(text.stdout)")
        #expect(text.stdout.contains("\(tree)/ok/private.pem") && text.stdout.contains("\(tree)/locked"), "\(text.stdout)")
        let json = try checkJSON(try asNobody(["--json"]))
        let bySource = Dictionary(uniqueKeysWithValues: results(json).map { ($0["source"] as! String, $0) })
        #expect(bySource["\(tree)/ok/private.pem"]?["status"] as? String == "UNKNOWN")
        #expect(bySource["\(tree)/locked"]?["status"] as? String == "UNKNOWN")
        #expect((bySource["\(tree)/ok/private.pem"]?["error"] as? String)?.contains("permission denied") == true, "\(bySource)")
        #expect(bySource["\(tree)/ok/site.pem"]?["status"] as? String == "OK")
        let prom = try asNobody(["--format", "prometheus"])
        #expect(prom.stdout.contains("\nx509_read_errors 2\n"), "\(prom.stdout)")
        #expect(prom.stdout.contains("\nx509_skipped_files 1\n"), "\(prom.stdout)")
    }

    /// A PKCS#12 in a scan is a certificate behind a passphrase, not a non-certificate: UNKNOWN
    /// (with the flag that opens it) until --passphrase-file opens it; an encrypted key alone
    /// stays skipped.
    @Test func aPKCS12InAScanIsUnknownUntilItsPassphraseOpensIt() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let pass = f.scratch.write("pass.txt", "pfx-pass-1\n"), wrong = f.scratch.write("wrong.txt", "nope\n")
        let dir = f.scratch.file("pfx")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        f.expectOK(try certs("export", "fine.test", "--p12", "--out", "\(dir)/site.pfx", "--store", f.store, "--passphrase-file", pass))
        f.expectOK(try certs("key", "new", "--out", "\(dir)/enc.key", "--encrypt", "--passphrase-file", pass))
        let trust = "\(f.store)/ca/root.pem"
        func result(_ extra: [String]) throws -> (RunResult, [String: Any]?, Int?) {
            let r = try certs(["check", "--json", "--trust", trust] + extra + [dir])
            let doc = try checkJSON(r)
            let pfx = results(doc).first { ($0["source"] as? String) == "\(dir)/site.pfx" }
            return (r, pfx, (doc["counts"] as? [String: Any])?["skipped"] as? Int)
        }
        let (locked, lockedResult, lockedSkipped) = try result([])
        #expect(locked.status == 3, "\(locked.stdout)")
        #expect(lockedResult?["status"] as? String == "UNKNOWN")
        #expect((lockedResult?["error"] as? String)?.contains("--passphrase-file") == true, "\(lockedResult ?? [:])")
        #expect(lockedSkipped == 1, "the encrypted key alone is no certificate")
        let (opened, openedResult, _) = try result(["--passphrase-file", pass])
        #expect(opened.status == 0, "\(opened.stdout)\(opened.stderr)")
        #expect(openedResult?["status"] as? String == "OK")
        #expect((openedResult?["names"] as? [String]) == ["fine.test"])
        let (bad, badResult, _) = try result(["--passphrase-file", wrong])
        #expect(bad.status == 3)
        #expect((badResult?["error"] as? String)?.contains("does not open") == true, "\(badResult ?? [:])")
    }

    @Test func directoriesAreScannedRecursivelyAndNonCertificatesSkippedAndCounted() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let tree = f.scratch.file("tree/a/b")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.live("fine.test"), toPath: "\(tree)/site.pem")
        let der = try openssl("x509", "-in", f.live("fine.test", "cert.pem"), "-outform", "DER", "-out", f.scratch.file("tree/a/site.der"))
        #expect(der.status == 0)
        try FileManager.default.copyItem(atPath: f.live("fine.test", "privkey.pem"), toPath: f.scratch.file("tree/a/b/site.key"))
        _ = f.scratch.write("tree/README.txt", "not a certificate\n")
        _ = f.scratch.write("tree/a/empty.pem", "")
        let r = try certs("check", "--json", "--trust", "\(f.store)/ca/root.pem", f.scratch.file("tree"))
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try checkJSON(r)
        #expect((doc["version"] as? Int) == 1)
        #expect(((doc["counts"] as? [String: Any])?["certificates"] as? Int) == 2)
        #expect(((doc["counts"] as? [String: Any])?["skipped"] as? Int) == 3)
        #expect(Set(results(doc).compactMap { $0["source"] as? String }) == [f.scratch.file("tree/a/b/site.pem"), f.scratch.file("tree/a/site.der")])
        let bySource = Dictionary(uniqueKeysWithValues: results(doc).map { ($0["source"] as! String, $0) })
        #expect(bySource[f.scratch.file("tree/a/b/site.pem")]?["chainValid"] as? Bool == true, "a full chain verifies against --trust")
        #expect(bySource[f.scratch.file("tree/a/site.der")]?["chainValid"] as? Bool == false, "a lone DER leaf has no intermediate")
        #expect(bySource[f.scratch.file("tree/a/site.der")]?["chainErrors"] as? [String] == ["unknown-issuer"])
        #expect(bySource[f.scratch.file("tree/a/site.der")]?["status"] as? String == "OK", "files' chain problems are reported, not judged")
        #expect(results(doc).allSatisfy { ($0["names"] as? [String]) == ["fine.test"] })
    }

    @Test func badUsageAndUnreadableInputsAreUnknown() throws {
        let s = Scratch()
        expectOneLineError(try certs("check", "--warn", "soon", s.path), exit: 3, mentioning: "--warn")
        expectOneLineError(try certs("check", "--no-such-option", s.path), exit: 3, mentioning: "--no-such-option")
        let missing = try certs("check", s.file("missing.pem"))
        expectOneLineError(missing, exit: 3, mentioning: "missing.pem")
        #expect(missing.stdout.hasPrefix("CERTS UNKNOWN - "), "Nagios reads stdout: \(missing.stdout)")
        expectOneLineError(try certs("check", s.write("junk.pem", "junk\n")), exit: 3, mentioning: "junk.pem")
        expectOneLineError(try certs("check", "--endpoint", "[::1", s.path), exit: 3, mentioning: "--endpoint")
        expectOneLineError(try certs("check", "--alert", "email=me", s.path), exit: 3, mentioning: "webhook=URL")
    }

    @Test func percentageOfLifetimeThresholdsSuitShortLivedCertificates() throws {
        let f = try CheckFixture(names: [], expired: false)
        f.expectOK(try certs("ca", "issue", "--store", f.store, "short.test", "--days", "3"))
        let path = f.live("short.test")
        // 3-day certificate, just issued: 100% left. Days thresholds would call it CRITICAL; the
        // default (30,33% / 7,10%) and pure percentages see a healthy certificate.
        #expect(try certs("check", "--warn", "30", "--crit", "7", path).status == 2)
        #expect(try certs("check", path).status == 0)
        #expect(try certs("check", "--warn", "33%", "--crit", "10%", path).status == 0)
        let dayTwo = String(f.now + 2 * 86400 + 3600)  // about 30% left
        #expect(try certs("check", "--warn", "33%", "--crit", "10%", "--at", dayTwo, path).status == 1)
        let almostGone = String(f.now + 3 * 86400 - 6 * 3600)  // about 8% left
        #expect(try certs("check", "--warn", "33%", "--crit", "10%", "--at", almostGone, path).status == 2)
    }

    @Test func endpointsOverIPv4AndIPv6IncludingWrongHostAndMissingIntermediate() throws {
        let f = try CheckFixture(names: [("fine.test", 90), ("month.test", 20)], expired: false)
        let good = try TLSTestServer(cert: f.live("fine.test", "cert.pem"), key: f.live("fine.test", "privkey.pem"),
                                     chain: f.live("fine.test", "chain.pem"), log: f.scratch.file("good.log"))
        let bare = try TLSTestServer(cert: f.live("fine.test", "cert.pem"), key: f.live("fine.test", "privkey.pem"),
                                     chain: nil, log: f.scratch.file("bare.log"))
        var args = ["check", "--json", "--store", f.store, "--endpoint", "127.0.0.1:\(good.port)@fine.test",
                    "--endpoint", "127.0.0.1:\(good.port)@wrong.test", "--endpoint", "127.0.0.1:\(bare.port)@fine.test"]
        var v6: TLSTestServer?
        if Loopback.hasIPv6Loopback {
            v6 = try TLSTestServer(cert: f.live("month.test", "cert.pem"), key: f.live("month.test", "privkey.pem"),
                                   chain: f.live("month.test", "chain.pem"), host: "::1", log: f.scratch.file("v6.log"))
            args += ["--endpoint", "[::1]:\(v6!.port)@month.test"]
        }
        let r = try certs(args)
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        let byName = Dictionary(uniqueKeysWithValues: results(try checkJSON(r)).map { ($0["source"] as! String, $0) })
        let ok = try #require(byName["127.0.0.1:\(good.port)@fine.test"], "\(r.stdout)")
        #expect(ok["status"] as? String == "OK")
        #expect(ok["chainValid"] as? Bool == true)
        #expect(ok["hostnameMatch"] as? Bool == true)
        #expect(ok["servesCurrent"] as? Bool == true, "the store's live fine.test is what the server serves")
        let wrong = try #require(byName["127.0.0.1:\(good.port)@wrong.test"])
        #expect(wrong["status"] as? String == "CRITICAL")
        #expect(wrong["hostnameMatch"] as? Bool == false)
        #expect((wrong["chainErrors"] as? [String])?.contains("hostname-mismatch") == true)
        let missing = try #require(byName["127.0.0.1:\(bare.port)@fine.test"])
        #expect(missing["status"] as? String == "CRITICAL")
        #expect(missing["chainValid"] as? Bool == false)
        #expect((missing["chainErrors"] as? [String])?.contains("missing-intermediate") == true, "\(missing)")
        if let v6 {
            let six = try #require(byName["[::1]:\(v6.port)@month.test"])
            #expect(six["status"] as? String == "WARNING")
            #expect(six["daysLeft"] as? Int == 19)
        }
        withExtendedLifetime((good, bare, v6)) {}
    }

    @Test func stackDomainsAreCheckedAsEndpointsWithTheirSNIAtConnectTo() throws {
        let f = try CheckFixture(names: [("other.test", 20)], expired: false)
        try f.expectOK(certs("ca", "issue", "--store", f.store, "fine.test", "www.fine.test", "--days", "90"))
        let stack = f.scratch.write("stack.yaml", """
            domains:
              - name: fine.test
                aliases: [www.fine.test]
                routes:
                  - { path: /, service: backend, port: 8080 }
              - name: other.test
                routes:
                  - { path: /, service: backend, port: 8080 }
            services:
              backend: { build: ./backend }

            """)
        // One server, a certificate per SNI name (as nginx serves the stack).
        let port = Loopback.freePort()
        let server = try ServerProcess("/usr/bin/openssl", ["s_server", "-accept", "127.0.0.1:\(port)", "-quiet",
                                                            "-cert", f.live("fine.test", "cert.pem"), "-key", f.live("fine.test", "privkey.pem"),
                                                            "-cert_chain", f.live("fine.test", "chain.pem"), "-servername", "other.test",
                                                            "-cert2", f.live("other.test", "cert.pem"), "-key2", f.live("other.test", "privkey.pem")],
                                       log: f.scratch.file("s.log"))
        defer { kill(server.pid, SIGKILL); server.stop() }
        #expect(Loopback.waitForListener(port))
        let r = try certs("check", "--json", "--stack", stack, "--connect-to", "127.0.0.1:\(port)",
                          "--trust", "\(f.store)/ca/root.pem", environment: ["CERTS_STORE": f.store])
        let doc = try checkJSON(r)
        let byName = Dictionary(uniqueKeysWithValues: results(doc).map { ($0["source"] as! String, $0) })
        #expect(Set(byName.keys) == ["127.0.0.1:\(port)@fine.test", "127.0.0.1:\(port)@www.fine.test", "127.0.0.1:\(port)@other.test"], "\(r.stdout)")
        #expect(byName["127.0.0.1:\(port)@www.fine.test"]?["status"] as? String == "OK")
        #expect(byName["127.0.0.1:\(port)@fine.test"]?["servesCurrent"] as? Bool == true)
        // other.test's certificate is served without its intermediate (-cert2 has no chain option).
        #expect(byName["127.0.0.1:\(port)@other.test"]?["daysLeft"] as? Int == 19)
        #expect(byName["127.0.0.1:\(port)@other.test"]?["servesCurrent"] as? Bool == true)
        #expect(r.status == 2, "\(r.stdout)")
    }

    @Test func aServerStillServingTheOldCertificateIsReportedAsStale() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let old = f.scratch.file("old-cert.pem"), oldKey = f.scratch.file("old-key.pem")
        try FileManager.default.copyItem(atPath: f.live("fine.test", "cert.pem"), toPath: old)
        try FileManager.default.copyItem(atPath: f.live("fine.test", "privkey.pem"), toPath: oldKey)
        try f.issue("fine.test", days: 90)  // renewed in the store; the server was not reloaded
        let server = try TLSTestServer(cert: old, key: oldKey, chain: f.live("fine.test", "chain.pem"), log: f.scratch.file("s.log"))
        let r = try certs("check", "--json", "--store", f.store, "--endpoint", "127.0.0.1:\(server.port)@fine.test")
        #expect(r.status == 1, "\(r.stdout)")
        let ep = try #require(results(try checkJSON(r)).first { $0["kind"] as? String == "endpoint" })
        #expect(ep["servesCurrent"] as? Bool == false)
        #expect((ep["problems"] as? [[String: Any]])?.contains { $0["code"] as? String == "stale-certificate" } == true)
        withExtendedLifetime(server) {}
    }

    @Test func stateFileAlertsOncePerThresholdCrossingAndOnceOnRecovery() throws {
        let f = try CheckFixture(names: [("site.test", 40)], expired: false)
        let hook = try WebhookReceiver(scratch: f.scratch)
        let state = f.scratch.file("state.json")
        let commandLog = f.scratch.file("command.log")
        let command = "command=printf '%s %s %s %s\\n' \"$CERTS_ALERT_EVENT\" \"$CERTS_ALERT_STATUS\" \"$CERTS_ALERT_PREVIOUS_STATUS\" \"$CERTS_ALERT_DAYS_LEFT\" >> \(shQuote(commandLog))"
        func check(daysLater: Int64) throws -> RunResult {
            try certs("check", "--store", f.store, "--state", state, "--alert", "webhook=\(hook.url)", "--alert", command,
                      "--at", String(f.now + daysLater * 86400 + 60))
        }
        #expect(try check(daysLater: 0).status == 0)
        #expect(try hook.bodies().isEmpty, "nothing to say while OK")
        #expect(try check(daysLater: 15).status == 1)
        #expect(try check(daysLater: 16).status == 1)
        #expect(try check(daysLater: 17).status == 1)
        var bodies = try hook.bodies()
        #expect(bodies.count == 1, "one alert for the WARNING crossing, not one per night: \(bodies)")
        #expect(bodies.first?["status"] as? String == "WARNING")
        #expect((bodies.first?["text"] as? String)?.contains("site.test") == true, "Slack/Mattermost show `text`")
        #expect(try check(daysLater: 35).status == 2)
        #expect(try check(daysLater: 36).status == 2)
        try f.issue("site.test", days: 90)
        // The renewed certificate, judged 35 days after its issue: 55 days left, OK again.
        #expect(try check(daysLater: 35).status == 0)
        #expect(try check(daysLater: 36).status == 0)
        bodies = try hook.bodies()
        #expect(bodies.map { $0["event"] as? String } == ["problem", "problem", "recovery"], "\(bodies)")
        #expect(bodies.map { $0["status"] as? String } == ["WARNING", "CRITICAL", "OK"])
        let lines = ((try? String(contentsOfFile: commandLog, encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines == ["problem WARNING OK 24", "problem CRITICAL WARNING 4", "recovery OK CRITICAL 54"], "\(lines)")
        #expect(f.scratch.mode("state.json") == 0o600)
        let saved = try parseJSONObject(f.scratch.read("state.json"))
        #expect((saved["lastRun"] as? [String: Any])?["outcome"] as? String == "success")
        #expect(saved["lastSuccess"] is String)
    }

    @Test func anUnreachableEndpointIsUnknownOnceAndAlertsOnlyAfterTwoFailuresInARow() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let hook = try WebhookReceiver(scratch: f.scratch)
        let state = f.scratch.file("state.json")
        let port = Loopback.freePort()  // nothing listens
        func check() throws -> RunResult {
            try certs("check", "--state", state, "--alert", "webhook=\(hook.url)", "--timeout", "2", "--endpoint", "127.0.0.1:\(port)@fine.test")
        }
        let first = try check()
        #expect(first.status == 3, "\(first.stdout)")
        #expect(first.stdout.hasPrefix("CERTS UNKNOWN - "))
        #expect(try hook.bodies().isEmpty, "one failure is not worth waking anyone")
        let second = try check()
        #expect(second.status == 2, "\(second.stdout)")
        #expect(try hook.bodies().count == 1)
        #expect(try check().status == 2)
        #expect(try hook.bodies().count == 1, "no repeat while it stays down")
        // Back up: one recovery.
        let server = try TLSTestServer(cert: f.live("fine.test", "cert.pem"), key: f.live("fine.test", "privkey.pem"),
                                       chain: f.live("fine.test", "chain.pem"), log: f.scratch.file("s.log"))
        let up = try certs("check", "--store", f.store, "--state", state, "--alert", "webhook=\(hook.url)", "--endpoint", "127.0.0.1:\(server.port)@fine.test")
        #expect(up.status == 0, "\(up.stdout)")
        // A different port is a different endpoint; the old entry just disappears.
        #expect(try hook.bodies().count == 1)
        withExtendedLifetime(server) {}
    }

    @Test func prometheusTextfileIsWrittenAtomicallyAndParses() throws {
        let f = try CheckFixture(names: [("fine.test", 90), ("month.test", 20)], expired: false)
        let prom = f.scratch.file("textfile/certs.prom")
        try FileManager.default.createDirectory(atPath: f.scratch.file("textfile"), withIntermediateDirectories: true)
        let r = try certs("check", "--store", f.store, "--format", "prometheus", "--out", prom)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(f.scratch.listing("textfile") == ["certs.prom"], "no temp file left behind")
        #expect(f.scratch.mode("textfile/certs.prom") == 0o644)
        let text = f.scratch.read("textfile/certs.prom")
        // Every non-comment line is NAME{LABELS} VALUE with a numeric value; every family has HELP and TYPE.
        var samples: [String: [(labels: String, value: Double)]] = [:]
        let pattern = try NSRegularExpression(pattern: #"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+)$"#)
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("#") {
                #expect(line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE "), "\(line)")
                continue
            }
            let m = try #require(pattern.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "not exposition format: \(line)")
            let name = String(line[Range(m.range(at: 1), in: line)!])
            let labels = m.range(at: 2).location == NSNotFound ? "" : String(line[Range(m.range(at: 2), in: line)!])
            let value = Double(line[Range(m.range(at: 3), in: line)!])!
            samples[name, default: []].append((labels, value))
            #expect(text.contains("# TYPE \(name) gauge"), "\(name) has no TYPE")
        }
        let notAfter = try #require(samples["x509_cert_not_after"]?.first { $0.labels.contains("live/month.test/fullchain.pem") })
        let enddate = try openssl("x509", "-enddate", "-noout", "-in", f.live("month.test")).stdout
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let date = try #require(formatter.date(from: enddate.replacingOccurrences(of: "notAfter=", with: "").replacingOccurrences(of: "  ", with: " ").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(notAfter.value == date.timeIntervalSince1970)
        #expect(notAfter.labels.contains("subject_CN=\"month.test\""))
        // One series per certificate: each fullchain.pem holds the leaf and the intermediate.
        #expect(samples["x509_cert_expired"]?.count == 4)
        #expect(samples["x509_cert_expired"]?.filter { $0.labels.contains("chain_position=\"0\"") }.count == 2)
        #expect(samples["x509_cert_expired"]?.allSatisfy { $0.value == 0 } == true)
        #expect(samples["certs_check_exit_code"]?.first?.value == 1)
        let lastRun = try #require(samples["certs_check_last_run_timestamp_seconds"]?.first?.value)
        #expect(abs(lastRun - Date().timeIntervalSince1970) < 120)
        #expect(samples["certs_check_last_success_timestamp_seconds"]?.first?.value == lastRun)
    }

    @Test func cronLineFromEmitCronRunsRenewThenCheckWithItsExitCode() throws {
        let f = try CheckFixture(names: [("fine.test", 90), ("month.test", 20)], expired: false)
        let hook = try WebhookReceiver(scratch: f.scratch)
        let server = try TLSTestServer(cert: f.live("fine.test", "cert.pem"), key: f.live("fine.test", "privkey.pem"),
                                       chain: f.live("fine.test", "chain.pem"), log: f.scratch.file("s.log"))
        let mixed = f.scratch.file("mixed")
        try FileManager.default.createDirectory(atPath: mixed, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.live("fine.test"), toPath: "\(mixed)/fine.pem")
        _ = f.scratch.write("mixed/notes.txt", "hello\n")
        let prom = f.scratch.file("certs.prom")
        let emitted = try certs("emit", "cron", "--store", f.store, "--certs", certsBinary, "--seed", "42", "--",
                                "--alert", "webhook=\(hook.url)", "--format", "prometheus", "--out", prom,
                                "--endpoint", "127.0.0.1:\(server.port)@fine.test", mixed)
        #expect(emitted.status == 0, "\(emitted.stderr)")
        let line = emitted.stdout.trimmingCharacters(in: .newlines)
        #expect(!line.contains("\n"), "one crontab line")
        let fields = line.split(separator: " ", maxSplits: 5).map(String.init)
        let minute = try #require(Int(fields[0]))
        #expect((0...59).contains(minute))
        #expect(fields[1] == "3" && fields[2...4] == ["*", "*", "*"], "\(line)")
        #expect(try certs("emit", "cron", "--store", f.store, "--seed", "42").stdout.hasPrefix("\(minute) 3 "), "the seed fixes the minute")
        let command = fields[5]
        #expect(command.contains("renew --all"))
        #expect(command.contains("check --store"))
        let first = try shell(command)
        #expect(first.status == 1, "check's WARNING (month.test, 19 days) is the line's exit status: \(first.stdout) \(first.stderr)")
        #expect(f.scratch.read("certs.prom").contains("x509_cert_not_after{filepath=\"\(mixed)/fine.pem\""))
        #expect(f.scratch.read("certs.prom").contains("probe_success{instance=\"127.0.0.1:\(server.port)@fine.test\"} 1"))
        #expect(FileManager.default.fileExists(atPath: "\(f.store)/check-state.json"), "the state file defaults into the store")
        #expect(try shell(command).status == 1)
        let bodies = try hook.bodies()
        #expect(bodies.count == 1, "exactly one alert for month.test's crossing: \(bodies)")
        #expect((bodies.first?["certificate"] as? [String: Any])?["source"] as? String == f.live("month.test"))
        withExtendedLifetime(server) {}
    }

    @Test func emitSystemdWritesAServiceAndARandomizedPersistentTimer() throws {
        let f = try CheckFixture(names: [], expired: false)
        let out = f.scratch.file("units")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try certs("emit", "systemd", "--store", f.store, "--certs", "/usr/local/bin/certs", "--out", out, "--", "--warn", "21")
        #expect(r.status == 0, "\(r.stderr)")
        let service = f.scratch.read("units/certs.service"), timer = f.scratch.read("units/certs.timer")
        #expect(service.contains("Type=oneshot"))
        #expect(service.contains("ExecStart=-/usr/local/bin/certs renew --all --store \(f.store)\n"))
        #expect(service.contains("ExecStart=/usr/local/bin/certs check --store \(f.store) --state \(f.store)/check-state.json --warn 21\n"))
        #expect(timer.contains("RandomizedDelaySec=1h"))
        #expect(timer.contains("Persistent=true"))
        #expect(timer.contains("OnCalendar=daily"))
        expectOneLineError(try certs("emit", "systemd", "--store", f.store, "--out", out), exit: 3, mentioning: "--force")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verify = try run("/usr/bin/systemd-analyze", ["verify", "\(out)/certs.timer", "\(out)/certs.service"])
            #expect(!verify.stderr.contains("Unknown key"), "\(verify.stderr)")
        }
    }
}
