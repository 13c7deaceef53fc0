import Foundation
import Testing

/// An hourly `certs renew --all` with nothing due decides from what the CA said last time (its
/// directory and renewal information, cached until its Retry-After) and opens no connection.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct RenewCacheTests {
    /// Accepts TCP connections on 127.0.0.1:port, logs one line per connection and never answers:
    /// a client that connects shows up in the log (and waits for its --timeout).
    func silentListener(port: Int, log: String) throws -> ServerProcess {
        let script = """
        import socket, sys
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
        print("listening", flush=True)
        held = []
        while True:
            c, _ = s.accept(); held.append(c); print("connection", flush=True)
        """
        return try ServerProcess("/usr/bin/python3", ["-u", "-c", script, String(port)], log: log)
    }

    func connections(_ log: String) -> Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0 == "connection" }.count
    }

    @Test func aSecondRunWithNothingDueMakesNoNetworkRequest() throws {
        let pebble = try Pebble(), s = Scratch()
        for name in ["a.example", "b.example"] {
            let r = try certs("request", name, "--agree-tos", "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                              "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1")
            #expect(r.status == 0, "\(r.stderr)")
        }
        // First run: asks the CA and records its answer next to each renewal configuration.
        let first = try certs("renew", "--all", "--store", s.file("store"))
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("renewed 0, not due 2, failed 0"), "\(first.stdout)")
        #expect(s.exists("store/renewal/.a.example.ari.json") && s.exists("store/renewal/.b.example.ari.json"))

        // The CA is gone; in its place a listener that would see (and stall) any request.
        pebble.stop()
        let log = s.file("listener.log")
        let listener = try silentListener(port: pebble.acmePort, log: log)
        defer { listener.stop() }
        #expect(Loopback.waitForListener(pebble.acmePort, timeout: 10))
        usleep(300_000)  // let the listener log waitForListener's own probe
        let before = connections(log)
        #expect(before >= 1, "the listener did not log the probe: \(s.read("listener.log"))")

        let second = try certs("renew", "--all", "--store", s.file("store"), "--timeout", "3")
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("a.example: not-due") && second.stdout.contains("renewed 0, not due 2, failed 0"), "\(second.stdout)")
        #expect(connections(log) == before, "the second run contacted the CA: \(s.read("listener.log"))")

        // The control: without the cached answer, renew does ask (and the listener sees it).
        try FileManager.default.removeItem(atPath: s.file("store/renewal/.a.example.ari.json"))
        let uncached = try certs("renew", "a.example", "--store", s.file("store"), "--timeout", "2")
        #expect(uncached.status == 0, "\(uncached.stdout)\(uncached.stderr)")
        #expect(uncached.stdout.contains("a.example: not-due"))
        #expect(connections(log) > before, "the control run did not reach the listener")
    }

    @Test func aRenewedCertificateIsNotJudgedByTheOldCertificatesAnswer() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try certs("request", "c.example", "--agree-tos", "--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                          "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try certs("renew", "c.example", "--store", s.file("store")).status == 0)
        let old = try parseJSONObject(s.read("store/renewal/.c.example.ari.json"))
        let forced = try certs("renew", "c.example", "--force", "--store", s.file("store"), "--no-probe")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try certs("renew", "c.example", "--store", s.file("store")).status == 0)
        let new = try parseJSONObject(s.read("store/renewal/.c.example.ari.json"))
        #expect(old["certificateID"] as? String != nil && old["certificateID"] as? String != new["certificateID"] as? String, "\(old) \(new)")
    }
}

/// Without --ca-bundle the ACME client trusts the system store, loaded once in memory from
/// OpenSSL's bundle file (SSL_CERT_FILE here: Pebble's HTTPS CA stands in for the system roots).
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct SystemTrustStoreTests {
    @Test func theSystemBundleFileIsWhatTheACMEClientTrusts() throws {
        let pebble = try Pebble(), s = Scratch()
        func request(_ name: String, bundle: String) throws -> RunResult {
            try certs(["request", name, "--agree-tos", "--acme", pebble.directoryURL, "--store", s.file("store"),
                       "--standalone", "--http-port", String(pebble.httpPort), "--http-address", "127.0.0.1"],
                      environment: ["SSL_CERT_FILE": bundle, "SSL_CERT_DIR": s.file("no-such-dir")])
        }
        let ok = try request("sys.example", bundle: pebble.caBundle)
        #expect(ok.status == 0, "\(ok.stderr)")
        // Another bundle: Pebble's HTTPS certificate is not trusted, and the message says by what.
        _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("other.key"),
                          "-out", s.file("other.pem"), "-subj", "/CN=Other CA", "-days", "2")
        let refused = try request("sys2.example", bundle: s.file("other.pem"))
        #expect(refused.status == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("not trusted by the system trust store"), "\(refused.stderr)")
    }
}
