import Foundation
import Testing

/// A real Pebble ACME server (Debian's `pebble`) and its `pebble-challtestsrv` DNS, on loopback
/// ports, for the `certs request` tests. Pebble's HTTPS certificate is made at start with the
/// openssl CLI (the package ships none); `caBundle` is its issuer, what `--ca-bundle` trusts.
///
/// Pebble validates HTTP-01 by connecting to the name's A record (127.0.0.1, from challtestsrv)
/// on `httpPort`, so a test's standalone server or web server must listen there; TLS-ALPN-01 on
/// `tlsPort` likewise.
final class Pebble {
    let scratch: Scratch
    let acmePort: Int, managementPort: Int, httpPort: Int, tlsPort: Int, dnsPort: Int, challtestPort: Int
    let caBundle: String
    let dnsServer: ServerProcess
    let server: ServerProcess

    var directoryURL: String { "https://127.0.0.1:\(acmePort)/dir" }
    var managementURL: String { "https://127.0.0.1:\(managementPort)" }
    var challtestURL: String { "http://127.0.0.1:\(challtestPort)" }

    /// `environment` adds Pebble variables (PEBBLE_WFE_NONCEREJECT, PEBBLE_ALTERNATE_ROOTS …);
    /// `config` adds fields to the "pebble" object (externalAccountMACKeys …).
    /// Pebble runs with `-strict` and without authorization reuse (PEBBLE_AUTHZREUSE=0), as the
    /// issue's "strict Pebble" asks. Ports are picked free and then bound by the servers, which can
    /// race with another test: when Pebble or challtestsrv exits without listening, it is started
    /// again on new ports (a few times).
    init(environment: [String: String] = [:], config: [String: Any] = [:], strict: Bool = true) throws {
        scratch = Scratch()
        let dir = scratch.path
        // A CA and Pebble's serving certificate for localhost / 127.0.0.1.
        _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", "\(dir)/ca.key", "-out", "\(dir)/ca.pem", "-subj", "/CN=Pebble Test HTTPS CA", "-days", "30",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        _ = try opensslOK("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", "\(dir)/pebble.key", "-out", "\(dir)/pebble.csr", "-subj", "/CN=localhost")
        let ext = scratch.write("pebble.ext", "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _ = try opensslOK("x509", "-req", "-in", "\(dir)/pebble.csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key",
                          "-set_serial", "0x51", "-days", "30", "-extfile", ext, "-out", "\(dir)/pebble.pem")
        caBundle = "\(dir)/ca.pem"

        var lastError = ""
        for _ in 0..<4 {
            let acme = Loopback.freePort(), management = Loopback.freePort(), http = Loopback.freePort(), tls = Loopback.freePort()
            let dns = Loopback.freePort(), challtest = Loopback.freePort()
            var pebbleConfig: [String: Any] = [
                "listenAddress": "127.0.0.1:\(acme)",
                "managementListenAddress": "127.0.0.1:\(management)",
                "certificate": "\(dir)/pebble.pem",
                "privateKey": "\(dir)/pebble.key",
                "httpPort": http,
                "tlsPort": tls,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": false,
            ]
            for (k, v) in config { pebbleConfig[k] = v }
            let data = try JSONSerialization.data(withJSONObject: ["pebble": pebbleConfig])
            FileManager.default.createFile(atPath: "\(dir)/pebble-config.json", contents: data)

            let challtestsrv = try ServerProcess("/usr/bin/pebble-challtestsrv", [
                "-dns01", "127.0.0.1:\(dns)", "-http01", "", "-https01", "", "-tlsalpn01", "",
                "-defaultIPv6", "", "-defaultIPv4", "127.0.0.1", "-management", "127.0.0.1:\(challtest)",
            ], log: "\(dir)/challtestsrv.log")
            guard Loopback.waitForListener(challtest, timeout: 30), challtestsrv.process.isRunning else {
                lastError = "pebble-challtestsrv did not start: \(scratch.read("challtestsrv.log"))"
                challtestsrv.stop()
                continue
            }
            // /usr/bin/env execs pebble in place (same pid) with the extra variables.
            var env = ["PEBBLE_VA_NOSLEEP": "1", "PEBBLE_AUTHZREUSE": "0"]
            for (k, v) in environment { env[k] = v }
            let pebble = try ServerProcess("/usr/bin/env", env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + [
                "/usr/bin/pebble", "-config", "\(dir)/pebble-config.json", "-dnsserver", "127.0.0.1:\(dns)",
            ] + (strict ? ["-strict"] : []), log: "\(dir)/pebble.log")
            guard Loopback.waitForListener(acme, timeout: 30), Loopback.waitForListener(management, timeout: 30), pebble.process.isRunning else {
                lastError = "pebble did not start: \(scratch.read("pebble.log"))"
                pebble.stop(); challtestsrv.stop()
                continue
            }
            acmePort = acme; managementPort = management; httpPort = http; tlsPort = tls; dnsPort = dns; challtestPort = challtest
            dnsServer = challtestsrv; server = pebble
            return
        }
        throw HarnessError(lastError)
    }

    func stop() { server.stop(); dnsServer.stop() }
    deinit { stop() }

    var log: String { scratch.read("pebble.log") }

    /// GETs a management URL with curl (independent of certs' own HTTP client).
    func management(_ path: String) throws -> String {
        let r = try run("/usr/bin/curl", ["-sS", "--fail", "--cacert", caBundle, "\(managementURL)\(path)"])
        guard r.status == 0 else { throw HarnessError("curl \(path): \(r.stderr)") }
        return r.stdout
    }

    /// Pebble's issuing root (regenerated at every start), written to a file for `certs verify --trust`.
    func rootFile(index: Int = 0) throws -> String {
        let pem = try management("/roots/\(index)")
        return scratch.write("pebble-root-\(index).pem", pem)
    }

    /// Status of a certificate by serial (hex): "Valid" or "Revoked".
    func certificateStatus(serialHex: String) throws -> String {
        let text = try management("/cert-status-by-serial/\(serialHex)")
        let json = try parseJSONObject(text)
        return json["Status"] as? String ?? text
    }

    /// A shell hook for `--dns-hook` that sets/clears TXT records through challtestsrv's API.
    var dnsHook: String {
        let url = challtestURL
        return """
        if [ "$CERTS_DNS_ACTION" = add ]; then \
        curl -sS --fail -X POST -d "{\\"host\\":\\"$CERTS_DNS_NAME.\\",\\"value\\":\\"$CERTS_DNS_VALUE\\"}" \(url)/set-txt; \
        else curl -sS --fail -X POST -d "{\\"host\\":\\"$CERTS_DNS_NAME.\\"}" \(url)/clear-txt; fi
        """
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Pebble and the tests that talk to it need its binaries; CI installs them (scripts/setup).
let pebbleInstalled = FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/pebble-challtestsrv")
