import Foundation
import Testing

/// A real acme2certifier (PyPI, in the venv `scripts/setup` makes at `a2cPython`'s prefix) with its
/// `openssl_ca_handler`, as a second, independent ACME server next to Pebble.
///
/// Tests/Fixtures/acme2certifier_server.py serves its WSGI application over plain HTTP on
/// 127.0.0.1 (port 0, reported back through a file). acme2certifier resolves challenge names
/// through `dns_server_list` (port 53 only), so each instance runs its own `pebble-challtestsrv`
/// on a loopback address of its own, 127.0.0.N:53, whose A records answer 127.0.0.N: HTTP-01 is
/// checked on port 80 of that address, so parallel tests never share a port 80.
final class Acme2certifier {
    let scratch: Scratch
    let address: String
    let port: Int
    let caPEM: String
    let dnsServer: ServerProcess
    let server: ServerProcess

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/acme2certifier_server.py").path
    /// Loopback addresses handed out in this process; a taken one (challtestsrv exits) is skipped.
    nonisolated(unsafe) static var lastHost = 100 + Int(getpid() % 50)
    static let hostLock = NSLock()

    var directoryURL: String { "http://127.0.0.1:\(port)/directory" }
    var challtestURL: String { "http://\(address):8055" }
    var log: String { scratch.read("a2c.log") }

    init() throws {
        scratch = Scratch()
        let dir = scratch.path
        _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem", "-subj", "/CN=acme2certifier Test CA", "-days", "30",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        caPEM = "\(dir)/ca.pem"
        try FileManager.default.createDirectory(atPath: "\(dir)/certs", withIntermediateDirectories: true)

        // challtestsrv on 127.0.0.N:53; a few tries when another process holds that address.
        var started: (ServerProcess, String)? = nil
        for _ in 0..<5 {
            let n = Self.hostLock.withLock { () -> Int in Self.lastHost = Self.lastHost >= 250 ? 100 : Self.lastHost + 1; return Self.lastHost }
            let host = "127.0.0.\(n)"
            let dns = try ServerProcess("/usr/bin/pebble-challtestsrv", [
                "-dns01", "\(host):53", "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-defaultIPv6", "", "-defaultIPv4", host, "-management", "\(host):8055",
            ], log: "\(dir)/challtestsrv.log")
            if Loopback.waitForListener(8055, host: host, timeout: 10), dns.process.isRunning { started = (dns, host); break }
            dns.stop()
        }
        guard let (dns, host) = started else { throw HarnessError("pebble-challtestsrv did not start: \(scratch.read("challtestsrv.log"))") }
        dnsServer = dns
        address = host

        _ = scratch.write("acme_srv.cfg", """
            [DEFAULT]
            debug: False
            dns_server_list: ["\(host)"]

            [Nonce]
            nonce_check_disable: False

            [CAhandler]
            handler_module: acme2certifier.cahandlers.openssl_ca_handler
            issuing_ca_key: \(dir)/ca.key
            issuing_ca_cert: \(dir)/ca.pem
            issuing_ca_crl: \(dir)/crl.pem
            cert_save_path: \(dir)/certs
            ca_cert_chain_list: []
            cert_validity_days: 30

            [DBhandler]
            handler_module: acme2certifier.dbhandlers.wsgi_handler
            dbfile: \(dir)/a2c.db

            [Challenge]
            challenge_validation_timeout: 10

            """)
        do {
            server = try ServerProcess(a2cPython, [Self.script, "\(dir)/acme_srv.cfg", "\(dir)/port"], cwd: dir, log: "\(dir)/a2c.log")
        } catch { dns.stop(); throw error }
        let deadline = Date().addingTimeInterval(30)
        var found: Int? = nil
        while Date() < deadline, server.process.isRunning {
            if let text = try? String(contentsOfFile: "\(dir)/port", encoding: .utf8), let p = Int(text) { found = p; break }
            usleep(50_000)
        }
        guard let found else {
            server.stop(); dns.stop()
            throw HarnessError("acme2certifier did not start: \(scratch.read("a2c.log"))")
        }
        port = found
    }

    func stop() { server.stop(); dnsServer.stop() }
    deinit { stop() }

    /// `--dns-hook` setting TXT records through this instance's challtestsrv.
    var dnsHook: String {
        let url = challtestURL
        return """
        if [ "$CERTS_DNS_ACTION" = add ]; then \
        curl -sS --fail -X POST -d "{\\"host\\":\\"$CERTS_DNS_NAME.\\",\\"value\\":\\"$CERTS_DNS_VALUE\\"}" \(url)/set-txt; \
        else curl -sS --fail -X POST -d "{\\"host\\":\\"$CERTS_DNS_NAME.\\"}" \(url)/clear-txt; fi
        """
    }
}

/// The venv interpreter with acme2certifier (scripts/setup, CERTS_TEST_DEPS=1). CI installs it, so
/// under CI (CI set) the suite always runs and a missing install fails instead of skipping.
let a2cPython = ProcessInfo.processInfo.environment["CERTS_A2C_PYTHON"] ?? "/opt/certs-acme2certifier/bin/python3"
let acme2certifierInstalled = (pebbleInstalled && FileManager.default.isExecutableFile(atPath: a2cPython))
    || ProcessInfo.processInfo.environment["CI"] != nil
