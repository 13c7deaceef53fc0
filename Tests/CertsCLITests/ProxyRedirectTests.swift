import Foundation
import Testing

/// Everything certs sends to a CA goes through HTTPS_PROXY (loopback included, as curl does)
/// unless NO_PROXY excludes it; a moved directory URL is followed. Real Pebble, real proxy process.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct ProxyRedirectTests {
    static let proxyScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/connect_proxy.py").path

    @Test func requestAndRenewGoThroughTheProxyAndNoProxyBypassesIt() throws {
        let ca = try ARITests.ARICA(["start": 30 * 86400, "end": 31 * 86400]), s = Scratch()
        defer { ca.stop() }
        let proxyLog = s.file("proxy.log")
        let proxy = try ServerProcess("/usr/bin/python3", [Self.proxyScript, proxyLog, "ops:pa55word"], log: s.file("proxy-out.log"))
        defer { proxy.stop() }
        var port: Int? = nil
        let deadline = Date().addingTimeInterval(20)
        while port == nil, Date() < deadline {
            if let line = s.read("proxy-out.log").split(separator: "\n").first, line.hasPrefix("port ") { port = Int(line.dropFirst(5)) } else { usleep(50_000) }
        }
        let proxyPort = try #require(port, "connect_proxy.py did not start")
        let env = ["HTTPS_PROXY": "http://ops:pa55word@127.0.0.1:\(proxyPort)", "NO_PROXY": "", "no_proxy": ""]
        // Through a moved directory URL too: /redirect/2 → /redirect/1 → /redirect/0 → /dir.
        let r = try certs(["request", "proxied.example", "--agree-tos", "--acme", "https://127.0.0.1:\(ca.port)/redirect/2", "--ca-bundle", ca.pebble.caBundle,
                           "--store", s.file("store"), "--standalone", "--http-port", String(ca.pebble.httpPort), "--http-address", "127.0.0.1", "--verbose"],
                          environment: env)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let tunnels = s.read("proxy.log").split(separator: "\n").filter { $0 == "CONNECT 127.0.0.1:\(ca.port) 200 auth=ok" }.count
        // The ACME requests share kept-alive tunnels: one, or one per concurrent authorization
        // (before keep-alive every request opened its own, 6 and more).
        #expect((1...3).contains(tunnels), "\(tunnels) tunnels for the whole request: \(s.read("proxy.log"))")
        #expect(ca.count("GET /redirect/") == 3 && ca.count("POST /order-plz") == 1, "\(ca.log)")
        #expect(!r.stdout.contains("pa55word") && !r.stderr.contains("pa55word"))

        // NO_PROXY names the CA's address: renew goes straight there.
        let before = s.read("proxy.log")
        let direct = try certs(["renew", "proxied.example", "--force", "--no-probe", "--store", s.file("store")],
                               environment: ["HTTPS_PROXY": "http://ops:pa55word@127.0.0.1:\(proxyPort)", "NO_PROXY": "localhost,127.0.0.1"])
        #expect(direct.status == 0, "\(direct.stdout)\(direct.stderr)")
        #expect(s.read("proxy.log") == before, "NO_PROXY did not bypass the proxy")
        // A proxy that is down is a remote failure naming the proxy, not the CA's fault.
        let down = try certs(["renew", "proxied.example", "--force", "--no-probe", "--store", s.file("store")],
                             environment: ["https_proxy": "http://ops:pa55word@127.0.0.1:\(Loopback.freePort())", "NO_PROXY": ""])
        #expect(down.status == 4 && down.stderr.contains("through the proxy 127.0.0.1:") && !down.stderr.contains("pa55word"), "\(down.stderr)")
    }

    @Test func aDirectoryThatRedirectsForeverOrToPlainHTTPIsOneClearLine() throws {
        let ca = try ARITests.ARICA([:]), s = Scratch()
        defer { ca.stop() }
        for (path, expected) in [("/loop", "redirects more than 5 times"), ("/to-http", "redirects to http://127.0.0.1:1/dir, another scheme")] {
            let r = try certs("request", "moved.example", "--agree-tos", "--acme", "https://127.0.0.1:\(ca.port)\(path)", "--ca-bundle", ca.pebble.caBundle,
                              "--store", s.file("store"), "--standalone", "--http-port", String(ca.pebble.httpPort), "--http-address", "127.0.0.1")
            #expect(r.status == 4, "\(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderr.contains(expected), "\(r.stderr)")
            #expect(!s.exists("store/live/moved.example"))
        }
        #expect(ca.count("GET /loop") == 6, "\(ca.log)")
    }
}
