import Foundation
import Testing
@testable import CertsCore

/// Tests/Fixtures/connect_proxy.py on loopback: the process, its port and what it saw.
final class ProxyFixture {
    let process = Process()
    let port: Int
    let logPath: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/connect_proxy.py").path

    init(credentials: String? = nil) throws {
        logPath = NSTemporaryDirectory() + "certs-proxy-\(UUID().uuidString).log"
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [Self.script, logPath] + (credentials.map { [$0] } ?? [])
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
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("port "), let p = Int(text.dropFirst(5)) else {
            kill(process.processIdentifier, SIGKILL)
            throw FixtureError(message: "connect_proxy.py did not start")
        }
        port = p
    }

    var log: [String] { ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logPath)
    }

    deinit { stop() }
}

@Suite(.serialized) struct ProxyTests {
    func config(_ env: [String: String]) throws -> ProxyConfiguration { try ProxyConfiguration { env[$0] } }

    @Test func httpsGoesThroughCONNECTWithTheCredentialsOfTheProxyURL() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let origin = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
        defer { origin.stop() }
        let proxy = try ProxyFixture(credentials: "alice:s3cr%t")
        defer { proxy.stop() }
        let client = try HTTPClient(trust: pki.trust(), proxies: config(["HTTPS_PROXY": "http://alice:s3cr%25t@127.0.0.1:\(proxy.port)"]))
        let r = try client.send(HTTPRequest(url: "https://127.0.0.1:\(origin.port)/hello"))
        #expect(r.status == 200 && r.text == "hello")
        #expect(proxy.log == ["CONNECT 127.0.0.1:\(origin.port) 200 auth=ok"], "\(proxy.log)")
    }

    @Test func plainHTTPGoesInAbsoluteFormAndLowerCaseWins() throws {
        let origin = try HTTPFixtureServer()
        defer { origin.stop() }
        let proxy = try ProxyFixture()
        defer { proxy.stop() }
        // HTTP_PROXY (upper case) points nowhere; http_proxy is the one used.
        let client = try HTTPClient(proxies: config(["http_proxy": "127.0.0.1:\(proxy.port)", "HTTP_PROXY": "http://127.0.0.1:1"]))
        let r = try client.send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(origin.port)/post?x=1", body: Array("body".utf8)))
        #expect(r.status == 200 && r.text.contains("\"path\": \"/post?x=1\""), "\(r.text)")
        #expect(proxy.log == ["POST http://127.0.0.1:\(origin.port)/post?x=1 200 auth=none"], "\(proxy.log)")
    }

    @Test func noProxyBypassesAndLoopbackIsProxiedOtherwise() throws {
        let origin = try HTTPFixtureServer()
        defer { origin.stop() }
        let proxy = try ProxyFixture()
        defer { proxy.stop() }
        let url = "http://127.0.0.1:\(origin.port)/hello"
        let proxied = try HTTPClient(proxies: config(["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)", "NO_PROXY": "example.com"]))
        #expect(try proxied.send(HTTPRequest(url: url)).text == "hello")
        #expect(proxy.log.count == 1, "loopback goes through the proxy unless NO_PROXY says so: \(proxy.log)")
        for noProxy in ["127.0.0.1", "localhost, 127.0.0.1:\(origin.port)", "*"] {
            let direct = try HTTPClient(proxies: config(["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)", "no_proxy": noProxy]))
            #expect(try direct.send(HTTPRequest(url: url)).text == "hello")
        }
        #expect(proxy.log.count == 1, "NO_PROXY did not bypass: \(proxy.log)")
    }

    @Test func aProxyThatRefusesTheCredentialsIsAnErrorWithoutThem() throws {
        let proxy = try ProxyFixture(credentials: "alice:right")
        defer { proxy.stop() }
        let client = try HTTPClient(proxies: config(["https_proxy": "http://alice:wrong-password@127.0.0.1:\(proxy.port)"]))
        do {
            _ = try client.send(HTTPRequest(url: "https://127.0.0.1:9/dir"))
            Issue.record("no error")
        } catch let e as HTTPError {
            #expect(e.description.contains("the proxy refused CONNECT with HTTP 407") && e.description.contains("127.0.0.1:\(proxy.port)"), "\(e)")
            #expect(!e.description.contains("wrong-password") && !e.description.contains("alice"), "\(e)")
        }
        #expect(proxy.log == ["CONNECT 127.0.0.1:9 407 auth=bad"], "\(proxy.log)")
        // A bad proxy variable is an error naming the variable, never its value.
        #expect(throws: HTTPError.self) { try config(["HTTPS_PROXY": "https://bob:pw@proxy.example:3128"]) }
        do { _ = try config(["HTTPS_PROXY": "socks5://bob:pw@proxy.example"]) } catch { #expect(!"\(error)".contains("pw"), "\(error)") }
    }

    @Test func noProxyMatchesHostsDomainsAndIPs() throws {
        let c = try config(["HTTPS_PROXY": "http://p.example:3128", "NO_PROXY": ".corp.example, internal.example:8443, [::1], 10.0.0.1"])
        #expect(c.https?.description == "p.example:3128")
        #expect(c.excludes("a.corp.example") && c.excludes("corp.example") && c.excludes("internal.example") && c.excludes("x.internal.example"))
        #expect(c.excludes("::1") && c.excludes("10.0.0.1"))
        #expect(!c.excludes("acorp.example") && !c.excludes("10.0.0.10") && !c.excludes("127.0.0.1"))
        #expect(try config(["HTTPS_PROXY": "http://p.example"]).https?.port == 1080)
    }
}
