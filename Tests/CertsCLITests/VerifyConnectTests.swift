import Foundation
import Testing

/// An `openssl s_server` on loopback, started by the test on a free port and killed by pid.
final class VerifyTLSServer {
    let process = Process()
    let port: Int
    let host: String

    /// `host` is "127.0.0.1" or "::1".
    init(host: String = "127.0.0.1", cert: String, key: String, chain: String? = nil, extra: [String] = []) throws {
        self.host = host
        port = Loopback.freePort()
        let accept = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var args = ["s_server", "-accept", accept, "-cert", cert, "-key", key, "-www", "-quiet"]
        if let chain { args += ["-cert_chain", chain] }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = args + extra
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        guard Loopback.waitForListener(port, host: host) else {
            stop()
            throw VerifyTestError("openssl s_server did not start listening on \(accept)")
        }
    }

    deinit { stop() }

    var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// SIGKILL by pid: a child spawned from a test thread inherits its blocked signal mask, so
    /// SIGTERM may never be delivered.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

struct VerifyTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite(.serialized) struct VerifyConnectTests {
    @Test func servedFullChainIsValidAndReportsTheConnection() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let server = try VerifyTLSServer(cert: "\(live)/cert.pem", key: "\(live)/privkey.pem", chain: "\(live)/chain.pem")
        let r = try certs("verify", "--connect", server.endpoint, "--trust", f.root, "--json")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let result = try #require(try verifyJSON(r).first)
        #expect(result["source"] as? String == server.endpoint)
        #expect(result["host"] as? String == "127.0.0.1")  // defaults to the host connected to
        #expect((result["chain"] as? [[String: Any]])?.map { $0["role"] as? String } == ["leaf", "intermediate", "root"])
        let connection = try #require(result["connection"] as? [String: Any])
        #expect(connection["protocol"] as? String == "TLSv1.3")
        #expect((connection["cipher"] as? String)?.hasPrefix("TLS_") == true)
        #expect(connection["sni"] is NSNull, "no SNI for an IP address")
        #expect(connection["address"] as? String == server.endpoint)

        let text = try certs("verify", "--connect", "localhost:\(server.port)", "--trust", f.root)
        #expect(text.status == 0, "\(text.stdout)")
        #expect(text.stdout.hasPrefix("localhost:\(server.port): VALID (for localhost, "))
        #expect(text.stdout.contains("connection: TLSv1.3, "))
        #expect(text.stdout.contains("SNI localhost"))
    }

    @Test func serverOmittingItsIntermediateIsReportedAsMissingIntermediate() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let server = try VerifyTLSServer(cert: "\(live)/cert.pem", key: "\(live)/privkey.pem")
        // The intermediate is available locally: the server is at fault.
        let r = try certs("verify", "--connect", server.endpoint, "--trust", f.root, "--chain", "\(live)/chain.pem", "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == ["missing-intermediate"])
        let message = verifyMessage(result, "errors", code: "missing-intermediate")
        #expect(message.contains("does not send the intermediate \"CN=certs development CA intermediate, O=certs development CA\""))
        #expect(message.contains("fullchain.pem"))
        // Also when only the trust bundle holds it: verification would pass, clients would not.
        let bundle = s.write("bundle.pem", s.read("store/ca/root.pem") + s.read("store/ca/intermediate.pem"))
        let r2 = try certs("verify", "--connect", server.endpoint, "--trust", bundle, "--json")
        #expect(r2.status == 1)
        #expect(verifyCodes(try #require(try verifyJSON(r2).first), "errors") == ["missing-intermediate"])
        // Without any copy of it: an unknown issuer, with the hint.
        let r3 = try certs("verify", "--connect", server.endpoint, "--trust", f.root)
        #expect(r3.status == 1)
        #expect(r3.stdout.contains("- unknown-issuer: cannot find the issuer \"CN=certs development CA intermediate"))
        #expect(r3.stdout.contains("serve the full chain"))
    }

    @Test func expectCertMismatchSaysTheServedCertificateIsOlder() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1", options: ["--valid-from", String(Int(Date().timeIntervalSince1970) - 3 * 86400)])
        let old = s.write("old.pem", s.read("store/live/localhost/cert.pem"))
        let oldKey = s.write("old.key", s.read("store/live/localhost/privkey.pem"))
        try f.issue("localhost", "127.0.0.1")  // renewal: live/ now holds a newer certificate
        let server = try VerifyTLSServer(cert: old, key: oldKey, chain: "\(live)/chain.pem")
        let r = try certs("verify", "--connect", server.endpoint, "--trust", f.root, "--expect-cert", "\(live)/cert.pem")
        #expect(r.status == 1)
        #expect(r.stdout.contains("- unexpected-certificate: the server serves \"CN=localhost\""))
        #expect(r.stdout.contains("but \(live)/cert.pem holds"))
        #expect(r.stdout.contains("the served one is older: reload or restart the server"))
        let same = try certs("verify", "--connect", server.endpoint, "--trust", f.root, "--expect-cert", old)
        #expect(same.status == 0, "\(same.stdout)")
    }

    @Test func sniSelectsTheCertificateAndIsTheDefaultHost() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let main = try f.issue("localhost", "127.0.0.1")
        let other = try f.issue("other.example.test")
        // s_server has no chain option for its second (SNI) certificate: that one is served alone.
        let server = try VerifyTLSServer(cert: "\(main)/cert.pem", key: "\(main)/privkey.pem", chain: "\(main)/chain.pem",
                                         extra: ["-servername", "other.example.test", "-cert2", "\(other)/cert.pem", "-key2", "\(other)/privkey.pem"])
        let r = try certs("verify", "--connect", server.endpoint, "--sni", "other.example.test", "--trust", f.root, "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == ["unknown-issuer"], "only the chain is wrong, the name matches: \(r.stdout)")
        #expect(result["host"] as? String == "other.example.test")
        #expect((result["chain"] as? [[String: Any]])?.first?["subject"] as? String == "CN=other.example.test")
        #expect((result["connection"] as? [String: Any])?["sni"] as? String == "other.example.test")
        // The host can still be checked separately from the SNI.
        let r2 = try certs("verify", "--connect", server.endpoint, "--sni", "other.example.test", "--host", "localhost", "--trust", f.root)
        #expect(r2.status == 1)
        // Without SNI the default certificate (with its chain) is served and valid for 127.0.0.1.
        let plain = try certs("verify", "--connect", server.endpoint, "--trust", f.root)
        #expect(plain.status == 0, "\(plain.stdout)")
        #expect(plain.stdout.contains("leaf          CN=localhost"))
        #expect(r2.stdout.contains("hostname-mismatch: the host name localhost is not in the leaf's subjectAltNames (DNS:other.example.test)"))
    }

    @Test func ipv6LoopbackIsReachedWithBracketSyntax() throws {
        guard Loopback.hasIPv6Loopback else { return }
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "::1")
        let server = try VerifyTLSServer(host: "::1", cert: "\(live)/cert.pem", key: "\(live)/privkey.pem", chain: "\(live)/chain.pem")
        let r = try certs("verify", "--connect", "[::1]:\(server.port)", "--trust", f.root, "--json")
        #expect(r.status == 0, "\(r.stdout + r.stderr)")
        let result = try #require(try verifyJSON(r).first)
        #expect(result["host"] as? String == "::1")
        #expect((result["connection"] as? [String: Any])?["address"] as? String == "[::1]:\(server.port)")
    }

    @Test func unreachableOrSilentServersAreRemoteErrorsWithExitFour() throws {
        let port = Loopback.freePort()
        expectOneLineError(try certs("verify", "--connect", "127.0.0.1:\(port)"), exit: 4, mentioning: "cannot connect to 127.0.0.1:\(port): connection refused")
        // A listener that never speaks TLS: the timeout applies to the handshake.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let silent = Int(UInt16(bigEndian: addr.sin_port))
        let start = Date()
        expectOneLineError(try certs("verify", "--connect", "127.0.0.1:\(silent)", "--timeout", "1"), exit: 4, mentioning: "no answer within 1 s during the TLS handshake")
        #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func plainHTTPServerIsAHandshakeFailureNotACrash() throws {
        // A peer that answers the ClientHello with an HTTP error and hangs up.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = Int(UInt16(bigEndian: addr.sin_port))
        DispatchQueue.global().async {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(c, &buffer, buffer.count)
            let answer = Array("HTTP/1.0 400 Bad Request\r\n\r\n".utf8)
            _ = write(c, answer, answer.count)
            close(c)
        }
        let r = try certs("verify", "--connect", "127.0.0.1:\(port)", "--timeout", "5")
        expectOneLineError(r, exit: 4)
        #expect(r.stderr.contains("127.0.0.1:\(port)"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
    }
}
