import Foundation
import Testing

/// `certs check`'s Prometheus side against the real Prometheus tools (Debian `prometheus`:
/// promtool and the server): every certificate as a series, the `--listen` exporter, and the
/// shipped rules and dashboard.
enum PromTools {
    static let promtool = "/usr/bin/promtool"
    static let prometheus = "/usr/bin/prometheus"

    /// CI installs Debian `prometheus` (.ci/run, scripts/setup with CERTS_TEST_DEPS=1); a machine
    /// without it fails these tests with the line that fixes it, never skips them silently.
    static func available() -> Bool {
        if FileManager.default.isExecutableFile(atPath: promtool) && FileManager.default.isExecutableFile(atPath: prometheus) { return true }
        Issue.record("promtool/prometheus are not installed: apt-get install prometheus (or CERTS_TEST_DEPS=1 scripts/setup)")
        return false
    }

    /// `promtool check metrics` on `text` (stdin).
    static func checkMetrics(_ text: String) throws -> RunResult {
        try run(promtool, ["check", "metrics"], stdin: Array(text.utf8))
    }
}

/// A certificate whose CN holds `"`, `\` and a line feed, issued by an intermediate under a root
/// (pyca/cryptography: no CLI writes such a name). Writes leaf+intermediate as bundle.pem and root.pem.
func makeAwkwardChain(in s: Scratch) throws {
    let script = #"""
    import datetime, sys
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    out = sys.argv[1]
    now = datetime.datetime.now(datetime.timezone.utc)
    def make(cn, issuer, issuer_key, days, ca, key=None):
        key = key or ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .issuer_name(issuer or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("awkward.test")]), critical=False)
        cert = b.sign(issuer_key or key, hashes.SHA256())
        return cert, key
    root, root_key = make("Awkward Root", None, None, 3650, True)
    inter, inter_key = make("Awkward Intermediate", root.subject, root_key, 20, True)
    leaf, _ = make('we"ird\\name\nline', inter.subject, inter_key, 60, False)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    open(out + "/bundle.pem", "wb").write(pem(leaf) + pem(inter))
    open(out + "/root.pem", "wb").write(pem(root))
    """#
    let r = try run("/usr/bin/python3", ["-c", script, s.path])
    guard r.status == 0 else { throw CheckTestError("python3 could not make the chain: \(r.stderr)") }
}

/// One HTTP/1.1 request over a fresh loopback connection; returns the status code and body.
func httpGet(_ port: Int, _ path: String, method: String = "GET", timeout: Double = 10) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { return nil }
    let request = Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
    guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += buffer[0..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let headEnd = text.range(of: "\r\n\r\n"), let code = Int(text.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return (code, String(text[headEnd.upperBound...]))
}

/// `certs check … --listen 127.0.0.1:0` as a child process; the port is read from its stderr.
final class Exporter {
    let server: ServerProcess
    let port: Int
    let log: String

    init(_ arguments: [String], scratch: Scratch, name: String = "exporter") throws {
        log = scratch.file("\(name).log")
        server = try ServerProcess(certsBinary, ["check"] + arguments + ["--listen", "127.0.0.1:0"], log: log)
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while Date() < deadline, found == nil {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let r = text.range(of: #"listening on http://127\.0\.0\.1:([0-9]+)/metrics"#, options: .regularExpression) {
                found = Int(text[r].split(separator: ":").last!.split(separator: "/").first!)
            } else if !server.process.isRunning {
                break
            } else {
                usleep(20_000)
            }
        }
        guard let found else { throw CheckTestError("the exporter did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")") }
        port = found
    }

    var stderr: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    deinit { kill(server.pid, SIGKILL); server.stop() }
}

@Suite(.serialized) struct PrometheusExportTests {
    @Test func everyCertificateOfABundleIsASeriesWithEscapedLabelsThatPromtoolAccepts() throws {
        guard PromTools.available() else { return }
        let s = Scratch()
        try makeAwkwardChain(in: s)
        let r = try certs("check", s.file("bundle.pem"), "--trust", s.file("root.pem"), "--format", "prometheus")
        // CRITICAL: a CN that is in no SAN, no EKU/AKI (verify's codes); the labels are the point here.
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        let lint = try PromTools.checkMetrics(r.stdout)
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)\n\(r.stdout)")
        // Label values escape backslash, double quote and line feed (the exposition format).
        #expect(r.stdout.contains(#"subject_CN="we\"ird\\name\nline""#), "\(r.stdout)")
        let notAfter = r.stdout.split(separator: "\n").filter { $0.hasPrefix("x509_cert_not_after{") }
        #expect(notAfter.count == 2, "leaf and intermediate: \(notAfter)")
        #expect(notAfter.contains { $0.contains(#"chain_position="1""#) && $0.contains(#"subject_CN="Awkward Intermediate""#) && $0.contains(#"issuer_CN="Awkward Root""#) })
        // The same certificates, with their facts, in --json.
        let j = try certs("check", s.file("bundle.pem"), "--trust", s.file("root.pem"), "--json")
        let doc = try parseJSONObject(j.stdout)
        let result = try #require((doc["results"] as? [[String: Any]])?.first)
        let chain = try #require(result["chain"] as? [[String: Any]])
        #expect(chain.count == 2)
        #expect(chain[0]["subject"] as? String != nil && chain[1]["issuer"] as? String == "CN=Awkward Root")
        #expect(chain[1]["isCA"] as? Bool == true)
        let serial = try opensslOK("x509", "-noout", "-serial", "-in", s.file("bundle.pem"))
        #expect(serial.lowercased().contains((chain[0]["serial"] as? String ?? "?").lowercased()))
        // The chain's earliest expiry is the intermediate's (20 days), not the leaf's (60).
        #expect(result["earliestExpiry"] as? String == chain[1]["notAfter"] as? String)
    }

    @Test func anEndpointExportsItsServedChainAndWhatTheHandshakeNegotiated() throws {
        guard PromTools.available() else { return }
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        let tls = try TLSTestServer(cert: f.live("fine.test", "cert.pem"), key: f.live("fine.test", "privkey.pem"),
                                    chain: f.live("fine.test", "chain.pem"), log: f.scratch.file("s.log"))
        let target = "127.0.0.1:\(tls.port)@fine.test"
        let r = try certs("check", "--endpoint", target, "--trust", "\(f.store)/ca/root.pem", "--format", "prometheus")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lint = try PromTools.checkMetrics(r.stdout)
        #expect(lint.status == 0, "promtool check metrics: \(lint.stdout)\(lint.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("probe_tls_version_info{instance=\"\(target)\",version=\"TLS 1.3\"} 1"), "\(r.stdout)")
        #expect(lines.contains { $0.hasPrefix("probe_tls_cipher_info{instance=\"\(target)\",cipher=\"TLS_") })
        #expect(lines.contains { $0.hasPrefix("certs_tls_group_info{instance=\"\(target)\",group=\"") })
        #expect(lines.filter { $0.hasPrefix("x509_cert_not_after{instance=\"\(target)\"") }.count == 2, "leaf and intermediate")
        let j = try parseJSONObject(try certs("check", "--endpoint", target, "--trust", "\(f.store)/ca/root.pem", "--json").stdout)
        let result = try #require((j["results"] as? [[String: Any]])?.first)
        let tlsFacts = try #require(result["tls"] as? [String: Any])
        #expect(tlsFacts["protocol"] as? String == "TLSv1.3")
        let chain = try #require(result["chain"] as? [[String: Any]])
        #expect(chain.count == 2)
        // probe_ssl_earliest_cert_expiry is the soonest notAfter of the served chain.
        let soonest = try #require(chain.compactMap { $0["notAfter"] as? String }.min())
        let earliest = try #require(lines.first { $0.hasPrefix("probe_ssl_earliest_cert_expiry{") }?.split(separator: " ").last.flatMap { Int($0) })
        #expect(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(earliest))) == soonest)
        withExtendedLifetime(tls) {}
    }

    @Test func hundredScrapesAtOnceShareOneCheckRunAndASlowClientBlocksNoOne() throws {
        let f = try CheckFixture(names: [("fine.test", 90)], expired: false)
        // A listener that never answers: the check run's TLS handshake with it waits --timeout
        // (2 s), so every scrape below arrives while that one run is in flight.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(silent, $0, &len) } }
        #expect(listen(silent, 16) == 0)
        let silentPort = Int(UInt16(bigEndian: addr.sin_port))
        let exporter = try Exporter(["--store", f.store, "--endpoint", "127.0.0.1:\(silentPort)@silent.test", "--timeout", "2", "--interval", "600"], scratch: f.scratch)

        let started = Date()
        let answers = Locked100()
        let exporterPort = exporter.port
        DispatchQueue.concurrentPerform(iterations: 100) { i in answers.set(i, httpGet(exporterPort, "/metrics", timeout: 20)) }
        let elapsed = Date().timeIntervalSince(started)
        let got = answers.values
        #expect(got.allSatisfy { $0?.status == 200 }, "statuses: \(got.map { $0?.status ?? -1 })")
        #expect(got.allSatisfy { $0?.body.contains("certs_exporter_check_runs_total 1\n") == true }, "every scrape shares the one run")
        #expect(got.first??.body.contains("x509_cert_not_after{filepath=\"\(f.store)/live/fine.test/fullchain.pem\"") == true)
        #expect(got.first??.body.contains("probe_success{instance=\"127.0.0.1:\(silentPort)@silent.test\"} 0") == true)
        #expect(elapsed < 15, "\(elapsed) s for 100 scrapes")

        // A client that sends half a request and then nothing holds one worker, no one else.
        let loris = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(loris) }
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_addr.s_addr = inet_addr("127.0.0.1")
        to.sin_port = in_port_t(UInt16(exporter.port).bigEndian)
        #expect(withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(loris, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0)
        let half = Array("GET /metr".utf8)
        _ = half.withUnsafeBytes { send(loris, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        let lorisStart = Date()
        let quick = Date()
        #expect(httpGet(exporter.port, "/metrics", timeout: 5)?.status == 200)
        #expect(Date().timeIntervalSince(quick) < 2, "a scrape waited for the slow client")
        // The slow client is answered 408 and closed within the request time limit (5 s).
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(loris, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { recv(loris, $0.baseAddress, $0.count, 0) }
        #expect(n > 0 && String(decoding: buffer[0..<max(n, 0)], as: UTF8.self).hasPrefix("HTTP/1.1 408"))
        #expect(Date().timeIntervalSince(lorisStart) < 8)

        // The rest of the surface: /, unknown paths, other methods.
        #expect(httpGet(exporter.port, "/")?.body.contains("/metrics") == true)
        #expect(httpGet(exporter.port, "/nope")?.status == 404)
        #expect(httpGet(exporter.port, "/metrics", method: "POST")?.status == 405)

        // SIGTERM stops it cleanly: exit 0, after saying how many runs it made.
        kill(exporter.server.pid, SIGTERM)
        let stopDeadline = Date().addingTimeInterval(5)
        while exporter.server.process.isRunning && Date() < stopDeadline { usleep(20_000) }
        #expect(!exporter.server.process.isRunning)
        exporter.server.process.waitUntilExit()
        #expect(exporter.server.process.terminationStatus == 0)
        #expect(exporter.stderr.contains("stopped after 1 check run"), "\(exporter.stderr)")
    }

    @Test func badListenAddressesAreOneLineErrors() throws {
        for bad in ["localhost:9793", "127.0.0.1:99999", "::1:9793", "127.0.0.1:x"] {
            let r = try certs("check", "/dev/null", "--listen", bad)
            #expect(r.status == 3, "\(bad): \(r.stderr)")
            #expect(r.stderr.contains("--listen"), "\(bad): \(r.stderr)")
        }
        let s = Scratch()
        let r = try certs("check", s.path, "--listen", "127.0.0.1:0", "--out", s.file("x.prom"))
        #expect(r.status == 3 && r.stderr.contains("--out"), "\(r.stderr)")
    }

    @Test func emittedRulesPassPromtoolAndFireOnTheirSeries() throws {
        guard PromTools.available() else { return }
        let s = Scratch()
        let emit = try certs("emit", "prometheus-rules", "--out", s.file("rules/certs.yml"))
        #expect(emit.status == 0, "\(emit.stderr)")
        let check = try run(PromTools.promtool, ["check", "rules", s.file("rules/certs.yml")])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 11 rules found"), "\(check.stdout)")
        // Never overwrite a file certs did not write; replace its own; --force for the other.
        _ = s.write("rules/mine.yml", "groups: []\n")
        #expect(try certs("emit", "prometheus-rules", "--out", s.file("rules/mine.yml")).status != 0)
        #expect(s.read("rules/mine.yml") == "groups: []\n")
        #expect(try certs("emit", "prometheus-rules", "--out", s.file("rules/certs.yml"), "--warn", "30,33%").status == 0)
        #expect(try certs("emit", "prometheus-rules", "--out", s.file("rules/certs.yml"), "--warn", "7", "--crit", "9").status != 0, "crit below warn")
        #expect(try certs("emit", "prometheus-rules", "--out", s.file("rules/mine.yml"), "--force").status == 0)

        // Unit tests: input series → the alerts expected at 50 h (time() = 180000).
        let now = 180_000
        let tests = """
        rule_files: [certs.yml]
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series:
              # 90-day certificates with 5, 25 and 80 days left; a 6-day one with 3 days left (half its
              # lifetime: not yet past 30,33%, the point of the lifetime thresholds).
              - series: 'x509_cert_not_after{filepath="/a.pem",subject_CN="soon"}'
                values: '\(now + 5 * 86400)x3100'
              - series: 'x509_cert_not_before{filepath="/a.pem",subject_CN="soon"}'
                values: '\(now - 85 * 86400)x3100'
              - series: 'x509_cert_expired{filepath="/a.pem",subject_CN="soon"}'
                values: '0x3100'
              - series: 'x509_cert_not_after{filepath="/b.pem",subject_CN="month"}'
                values: '\(now + 25 * 86400)x3100'
              - series: 'x509_cert_not_before{filepath="/b.pem",subject_CN="month"}'
                values: '\(now - 65 * 86400)x3100'
              - series: 'x509_cert_expired{filepath="/b.pem",subject_CN="month"}'
                values: '0x3100'
              - series: 'x509_cert_not_after{filepath="/c.pem",subject_CN="fine"}'
                values: '\(now + 80 * 86400)x3100'
              - series: 'x509_cert_not_before{filepath="/c.pem",subject_CN="fine"}'
                values: '\(now - 10 * 86400)x3100'
              - series: 'x509_cert_expired{filepath="/c.pem",subject_CN="fine"}'
                values: '0x3100'
              - series: 'x509_cert_not_after{filepath="/f.pem",subject_CN="short"}'
                values: '\(now + 3 * 86400)x3100'
              - series: 'x509_cert_not_before{filepath="/f.pem",subject_CN="short"}'
                values: '\(now - 3 * 86400)x3100'
              - series: 'x509_cert_expired{filepath="/f.pem",subject_CN="short"}'
                values: '0x3100'
              # A 2-day certificate with 20 hours left: 42% of its life, but under a day is critical.
              - series: 'x509_cert_not_after{filepath="/e.pem",subject_CN="tiny"}'
                values: '\(now + 20 * 3600)x3100'
              - series: 'x509_cert_not_before{filepath="/e.pem",subject_CN="tiny"}'
                values: '\(now - 28 * 3600)x3100'
              - series: 'x509_cert_expired{filepath="/e.pem",subject_CN="tiny"}'
                values: '0x3100'
              - series: 'x509_cert_expired{filepath="/d.pem",subject_CN="old"}'
                values: '1x3100'
              - series: 'x509_cert_revoked{instance="x.test:443",subject_CN="x.test",serial_number="0a"}'
                values: '1x3100'
              - series: 'x509_read_errors'
                values: '2x3100'
              - series: 'probe_success{instance="down.test:443"}'
                values: '0x3100'
              - series: 'probe_success{instance="up.test:443"}'
                values: '1x3100'
              - series: 'certs_endpoint_serves_current{instance="x.test:443",store_name="x.test"}'
                values: '0x3100'
              - series: 'certs_renew_last_success_timestamp_seconds'
                values: '0x3100'
              - series: 'certs_renew_last_run_success'
                values: '0x3100'
              - series: 'certs_check_last_run_timestamp_seconds'
                values: '\(now - 3600)x3100'
            alert_rule_test:
              - eval_time: 50h
                alertname: CertificateExpiresSoon
                exp_alerts:
                  - exp_labels: {severity: warning, filepath: /b.pem, subject_CN: month}
                    exp_annotations: {summary: 'Certificate month at /b.pem expires in 25d 0h 0m 0s (less than 30 days and 33% of its lifetime left)'}
              - eval_time: 50h
                alertname: CertificateExpiresVerySoon
                exp_alerts:
                  - exp_labels: {severity: critical, filepath: /a.pem, subject_CN: soon}
                    exp_annotations: {summary: 'Certificate soon at /a.pem expires in 5d 0h 0m 0s (less than 7 days and 10% of its lifetime left)'}
                  - exp_labels: {severity: critical, filepath: /e.pem, subject_CN: tiny}
                    exp_annotations: {summary: 'Certificate tiny at /e.pem expires in 20h 0m 0s (less than 7 days and 10% of its lifetime left)'}
              - eval_time: 50h
                alertname: CertificateExpired
                exp_alerts:
                  - exp_labels: {severity: critical, filepath: /d.pem, subject_CN: old}
                    exp_annotations: {summary: 'Certificate old at /d.pem has expired'}
              - eval_time: 50h
                alertname: CertificateRevoked
                exp_alerts:
                  - exp_labels: {severity: critical, instance: 'x.test:443', subject_CN: x.test, serial_number: 0a}
                    exp_annotations: {summary: 'Certificate x.test (serial 0a) at x.test:443 is revoked'}
              - eval_time: 50h
                alertname: CertificateReadErrors
                exp_alerts:
                  - exp_labels: {severity: warning}
                    exp_annotations: {summary: 'certs check could not read 2 file(s) or directories: run certs check --json for the paths and reasons'}
              - eval_time: 50h
                alertname: EndpointUnreachable
                exp_alerts:
                  - exp_labels: {severity: critical, instance: 'down.test:443'}
                    exp_annotations: {summary: 'No TLS handshake with down.test:443'}
              - eval_time: 50h
                alertname: EndpointServesStaleCertificate
                exp_alerts:
                  - exp_labels: {severity: warning, instance: 'x.test:443', store_name: x.test}
                    exp_annotations: {summary: "x.test:443 serves another certificate than the store's current x.test: reload the server"}
              - eval_time: 50h
                alertname: CertsRenewHeartbeatStale
                exp_alerts:
                  - exp_labels: {severity: warning}
                    exp_annotations: {summary: 'No successful certs renew run for 48 hours: is its cron job or timer still running?'}
              - eval_time: 47h
                alertname: CertsRenewHeartbeatStale
                exp_alerts: []
              - eval_time: 50h
                alertname: CertsRenewFailed
                exp_alerts:
                  - exp_labels: {severity: warning}
                    exp_annotations: {summary: 'The last certs renew run failed'}
              - eval_time: 50h
                alertname: CertsCheckStale
                exp_alerts: []
              - eval_time: 50h
                alertname: EndpointChainInvalid
                exp_alerts: []

        """
        _ = s.write("rules/certs.test.yml", tests)
        let unit = try run(PromTools.promtool, ["test", "rules", s.file("rules/certs.test.yml")])
        #expect(unit.status == 0, "\(unit.stdout)\(unit.stderr)")
        #expect(unit.stdout.contains("SUCCESS"), "\(unit.stdout)")
    }

    @Test func aRealPrometheusScrapesTheExporterAndEvaluatesTheRulesAndDashboard() throws {
        guard PromTools.available() else { return }
        let f = try CheckFixture(names: [("fine.test", 90), ("month.test", 20)], expired: false)
        let exporter = try Exporter(["--store", f.store, "--interval", "1"], scratch: f.scratch)
        #expect(try certs("emit", "prometheus-rules", "--out", f.scratch.file("prom/certs-rules.yml")).status == 0)
        #expect(try certs("emit", "grafana", "--out", f.scratch.file("prom/dashboard.json")).status == 0)
        _ = f.scratch.write("prom/prometheus.yml", """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [certs-rules.yml]
            scrape_configs:
              - job_name: certs
                honor_labels: true
                static_configs: [{targets: ['127.0.0.1:\(exporter.port)']}]

            """)
        // Prometheus binds the port it is given: a taken one (another test, another helper) is retried.
        var prometheus: ServerProcess?
        var port = 0
        for attempt in 0..<8 where prometheus == nil {
            port = 20_000 + Int.random(in: 0..<20_000)
            let log = f.scratch.file("prometheus-\(attempt).log")
            let p = try ServerProcess(PromTools.prometheus, ["--config.file=\(f.scratch.file("prom/prometheus.yml"))",
                                                             "--storage.tsdb.path=\(f.scratch.file("prom/data-\(attempt)"))",
                                                             "--web.listen-address=127.0.0.1:\(port)"], log: log)
            let deadline = Date().addingTimeInterval(20)
            var ready = false
            while Date() < deadline && p.process.isRunning && !ready {
                ready = httpGet(port, "/-/ready", timeout: 2)?.status == 200
                if !ready { usleep(100_000) }
            }
            if ready { prometheus = p } else { kill(p.pid, SIGKILL); p.stop() }
        }
        let server = try #require(prometheus, "prometheus did not start")
        defer { kill(server.pid, SIGKILL); server.stop() }

        // The test asks Prometheus' HTTP API for the sample it scraped.
        var sample: [String: Any]?
        let deadline = Date().addingTimeInterval(30)
        while sample == nil && Date() < deadline {
            if let r = httpGet(port, "/api/v1/query?query=x509_cert_not_after%7Bsubject_CN%3D%22month.test%22%2Cchain_position%3D%220%22%7D"),
               let doc = try? JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any],
               let result = (doc["data"] as? [String: Any])?["result"] as? [[String: Any]], let first = result.first {
                sample = first
            } else {
                usleep(200_000)
            }
        }
        let got = try #require(sample, "no x509_cert_not_after sample in Prometheus")
        let value = try #require(((got["value"] as? [Any])?.last as? String).flatMap { Double($0) })
        let enddate = try opensslOK("x509", "-noout", "-enddate", "-in", f.live("month.test", "cert.pem"))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let date = try #require(formatter.date(from: enddate.replacingOccurrences(of: "notAfter=", with: "").replacingOccurrences(of: "  ", with: " ").trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(value == date.timeIntervalSince1970)
        #expect((got["metric"] as? [String: String])?["filepath"] == f.live("month.test"))

        // The shipped rules load and evaluate without error against the real series.
        let rules = try #require(httpGet(port, "/api/v1/rules"))
        #expect(rules.body.contains("\"CertificateExpiresSoon\"") && !rules.body.contains("\"health\":\"err"), "\(rules.body.prefix(2000))")
        // Every dashboard query is one Prometheus accepts.
        let dashboard = try parseJSONObject(f.scratch.read("prom/dashboard.json"))
        let exprs = (dashboard["panels"] as? [[String: Any]] ?? []).flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(exprs.count >= 6)
        for expr in exprs {
            let q = expr.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let r = try #require(httpGet(port, "/api/v1/query?query=\(q)"))
            #expect(r.status == 200 && r.body.contains("\"status\":\"success\""), "\(expr): \(r.body)")
        }
        withExtendedLifetime(exporter) {}
    }
}

/// 100 answer slots written by concurrentPerform's threads (each index once).
final class Locked100: @unchecked Sendable {
    private let lock = NSLock()
    private var slots = [(status: Int, body: String)?](repeating: nil, count: 100)
    func set(_ i: Int, _ v: (status: Int, body: String)?) { lock.lock(); slots[i] = v; lock.unlock() }
    var values: [(status: Int, body: String)?] { lock.lock(); defer { lock.unlock() }; return slots }
}
