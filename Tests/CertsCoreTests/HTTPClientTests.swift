import Foundation
import Testing
@testable import CertsCore

/// Tests/Fixtures/http_fixture.py (or `openssl s_server`) on loopback, stopped by pid.
final class HTTPFixtureServer {
    let process = Process()
    let port: Int

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/http_fixture.py").path

    /// Starts the python fixture and reads the port it bound from its first line of output.
    init(_ arguments: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line.append(d)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw FixtureError(message: "http_fixture.py did not start")
        }
        port = p
    }

    /// `openssl s_server -www` on 127.0.0.1:port.
    init(opensslWWW cert: String, key: String, port: Int) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_server", "-www", "-accept", "127.0.0.1:\(port)", "-cert", cert, "-key", key, "-quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<200 {
            if Self.listening(port) { return }
            usleep(25_000)
        }
        throw FixtureError(message: "openssl s_server did not start")
    }

    static func listening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// A loopback port for `openssl s_server -www`, which cannot report a port-0 bind: from a range
    /// below the kernel's ephemeral ports (so no port-0 bind elsewhere in the process can take it
    /// first), each handed out once, checked free now. Disjoint from the CLI tests' range.
    static func freePort() -> Int {
        portLock.lock(); defer { portLock.unlock() }
        for _ in 0..<2_000 {
            let port = 26_000 + portOffset % 2_000
            portOffset += 1
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
            close(fd)
            if ok { return port }
        }
        fatalError("no free loopback port in 26000..<28000")
    }
    nonisolated(unsafe) private static var portOffset = Int.random(in: 0..<2_000)
    private static let portLock = NSLock()

    func stop() {
        guard process.isRunning else { return }
        // SIGKILL: a child spawned by Foundation.Process may inherit a mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

struct FixtureError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// A root and a server certificate for 127.0.0.1, ::1 and www.example.test, written to a temp dir.
struct HTTPTestPKI {
    let dir: String
    let root: Certificate
    let certPath: String
    let keyPath: String
    let rootPath: String

    init(names: [GeneralName] = [.dns("www.example.test"), .ip("127.0.0.1"), .ip("::1")]) throws {
        dir = NSTemporaryDirectory() + "certs-http-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let now = currentUnixTime()
        let rootKey = try PrivateKey.generate(.ecP256)
        var r = CertificateBuilder(subject: DistinguishedName(commonName: "HTTP Test Root"), publicKey: rootKey.publicKey,
                                   notBefore: now - 3600, notAfter: now + 86400 * 30)
        r.isCA = true
        root = try r.sign(with: rootKey)
        let key = try PrivateKey.generate(.ecP256)
        let leaf = try CertificateBuilder.server(names: names, publicKey: key.publicKey, notBefore: now - 3600, notAfter: now + 86400 * 20, issuer: root)
            .sign(with: rootKey)
        certPath = dir + "/cert.pem"
        keyPath = dir + "/key.pem"
        rootPath = dir + "/root.pem"
        try Data(try leaf.pem()).write(to: URL(fileURLWithPath: certPath))
        try Data(try key.pem()).write(to: URL(fileURLWithPath: keyPath))
        try Data(try root.pem()).write(to: URL(fileURLWithPath: rootPath))
    }

    func trust() throws -> TrustStore { try TrustStore.certificates([root], origin: "--ca-bundle root.pem") }

    func cleanup() { try? FileManager.default.removeItem(atPath: dir) }
}

@Suite(.serialized) struct HTTPClientTests {
    @Test func plainGetWithContentLengthReturnsStatusHeadersAndBody() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/hello"))
        #expect(r.status == 200)
        #expect(r.text == "hello")
        #expect(r.header("x-test") == "one")
        #expect(r.header("CONTENT-TYPE") == "text/plain")
    }

    @Test func chunkedBodiesAreReassembledAndTrailersDropped() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/chunked"))
        #expect(r.text == "chunk-one,chunk-two,chunk-three")
    }

    @Test func bodyWithoutLengthEndsAtConnectionClose() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/close"))
        #expect(r.text == "until-close")
    }

    @Test func repeatedHeadersAreAllReturnedInOrder() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/links"))
        #expect(r.headers(named: "link") == ["<https://a/1>;rel=\"up\"", "<https://a/2>;rel=\"alternate\""])
    }

    @Test func postSendsBodyContentLengthHostAndUserAgent() throws {
        let server = try HTTPFixtureServer()
        let body = Array("{\"a\":1}".utf8)
        let r = try HTTPClient(userAgent: "certs-test/1").send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/acme/new?x=1",
                                                              headers: [("Content-Type", "application/jose+json")], body: body))
        let echo = try JSONSerialization.jsonObject(with: Data(r.body)) as! [String: Any]
        let headers = echo["headers"] as! [String: String]
        #expect(echo["method"] as? String == "POST")
        #expect(echo["path"] as? String == "/acme/new?x=1")
        #expect(echo["body"] as? String == "{\"a\":1}")
        #expect(headers["content-length"] == "7")
        #expect(headers["content-type"] == "application/jose+json")
        #expect(headers["host"] == "127.0.0.1:\(server.port)")
        #expect(headers["user-agent"] == "certs-test/1")
    }

    @Test func headRequestsReadNoBody() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(method: "HEAD", url: "http://127.0.0.1:\(server.port)/hello"))
        #expect(r.status == 200)
        #expect(r.body.isEmpty)
        #expect(r.header("Content-Length") == "5")
    }

    @Test func nonSuccessStatusIsAResponseNotAnError() throws {
        let server = try HTTPFixtureServer()
        let r = try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/status/503"))
        #expect(r.status == 503)
    }

    @Test func responsesOverTheSizeCapAreRefused() throws {
        let server = try HTTPFixtureServer()
        #expect(throws: HTTPError.tooLarge(host: "127.0.0.1:\(server.port)", limit: 10 * 1024 * 1024)) {
            try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/big"))
        }
    }

    @Test func slowServersHitTheDeadlineAsARemoteTimeout() throws {
        let server = try HTTPFixtureServer()
        let start = Date()
        do {
            _ = try HTTPClient(timeout: 1).send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/slow"))
            Issue.record("expected a timeout")
        } catch let e as HTTPError {
            guard case .timeout(let host, _, _) = e else { Issue.record("got \(e)"); return }
            #expect(host == "127.0.0.1:\(server.port)")
            #expect(e.kind == .remote)
        }
        #expect(Date().timeIntervalSince(start) < 3)
    }

    @Test func refusedConnectionIsARemoteErrorNamingTheHost() throws {
        let port = HTTPFixtureServer.freePort()
        do {
            _ = try HTTPClient(timeout: 2).send(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
            Issue.record("expected an error")
        } catch let e as HTTPError {
            #expect(e.kind == .remote)
            #expect(e.description.contains("127.0.0.1:\(port)"))
            #expect(e.description.contains("refused"))
        }
    }

    @Test func httpsWithTheServersRootTrustedSucceeds() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let server = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
        let r = try HTTPClient(trust: pki.trust()).send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/chunked"))
        #expect(r.status == 200)
        #expect(r.text == "chunk-one,chunk-two,chunk-three")
        let post = try HTTPClient(trust: pki.trust()).send(HTTPRequest(method: "POST", url: "https://127.0.0.1:\(server.port)/x", body: Array("secret-body".utf8)))
        #expect(post.text.contains("secret-body"))
    }

    @Test func httpsFromAnUntrustedCAFailsVerificationWithoutLeakingTheBody() throws {
        let pki = try HTTPTestPKI()
        let other = try HTTPTestPKI()
        defer { pki.cleanup(); other.cleanup() }
        let server = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
        for client in [try HTTPClient(trust: other.trust()), try HTTPClient()] {
            do {
                _ = try client.send(HTTPRequest(method: "POST", url: "https://127.0.0.1:\(server.port)/x", body: Array("secret-body".utf8)))
                Issue.record("an untrusted server was accepted")
            } catch let e as HTTPError {
                guard case .tls = e else { Issue.record("got \(e)"); continue }
                #expect(e.kind == .remote)
                #expect(e.description.contains("not trusted"))
                #expect(!e.description.contains("secret-body"))
            }
        }
    }

    @Test func httpsToANameTheCertificateDoesNotCoverFails() throws {
        let pki = try HTTPTestPKI(names: [.dns("www.example.test"), .ip("127.0.0.2")])
        defer { pki.cleanup() }
        let server = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
        for url in ["https://127.0.0.1:\(server.port)/hello", "https://localhost:\(server.port)/hello"] {
            do {
                _ = try HTTPClient(trust: pki.trust()).send(HTTPRequest(url: url))
                Issue.record("\(url): a certificate for other names was accepted")
            } catch let e as HTTPError {
                #expect(e.description.contains("not valid for"), "\(e)")
            }
        }
    }

    @Test func httpsOverIPv6LiteralVerifiesTheAddress() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        guard let server = try? HTTPFixtureServer(["--bind", "::1", "--cert", pki.certPath, "--key", pki.keyPath]) else { return }  // no IPv6 loopback
        let r = try HTTPClient(trust: pki.trust()).send(HTTPRequest(url: "https://[::1]:\(server.port)/hello"))
        #expect(r.text == "hello")
    }

    @Test func opensslSServerWWWPageIsReadToEndOfStream() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let server = try HTTPFixtureServer(opensslWWW: pki.certPath, key: pki.keyPath, port: HTTPFixtureServer.freePort())
        let r = try HTTPClient(trust: pki.trust(), timeout: 10).send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/"))
        #expect(r.status == 200)
        #expect(r.text.contains("Ciphers supported in s_server binary"))
    }

    @Test func plainHTTPClientSpeakingToATLSPortFailsCleanly() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let server = try HTTPFixtureServer(opensslWWW: pki.certPath, key: pki.keyPath, port: HTTPFixtureServer.freePort())
        #expect(throws: HTTPError.self) { try HTTPClient(timeout: 3).send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/")) }
    }

    @Test func urlsParseHostsPortsIPv6AndTargets() throws {
        let a = try HTTPURL("https://Example.COM/dir?x=1#frag")
        #expect(a.host == "example.com" && a.port == 443 && a.target == "/dir?x=1" && a.isHTTPS)
        #expect(a.description == "https://example.com/dir")
        let b = try HTTPURL("http://[::1]:8080")
        #expect(b.host == "::1" && b.port == 8080 && b.target == "/" && b.authority == "[::1]:8080")
        let c = try HTTPURL("http://10.0.0.1:80?q")
        #expect(c.target == "/?q" && c.authority == "10.0.0.1")
        for bad in ["ftp://x/", "https://user:pw@host/", "https://host:0/", "https://host:99999/", "https://[zz]:1/", "https:// host/", "https:///path"] {
            #expect(throws: HTTPError.self, "\(bad)") { try HTTPURL(bad) }
        }
    }

    @Test func headerInjectionIsRefused() throws {
        #expect(throws: HTTPError.self) {
            try HTTPClient().send(HTTPRequest(url: "http://127.0.0.1:1/", headers: [("X-A", "b\r\nX-Evil: 1")]))
        }
    }
}
