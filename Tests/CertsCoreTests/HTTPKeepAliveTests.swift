import Foundation
import Testing
@testable import CertsCore

/// HTTPS keep-alive against Tests/Fixtures/http_fixture.py over TLS on loopback, which counts the
/// connections it accepts (GET /connections).
@Suite(.serialized) struct HTTPKeepAliveTests {
    final class Fixture {
        let pki: HTTPTestPKI
        let server: HTTPFixtureServer
        let client: HTTPClient
        init() throws {
            pki = try HTTPTestPKI()
            server = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
            client = try HTTPClient(trust: pki.trust(), timeout: 10)
        }
        func get(_ path: String) throws -> HTTPResponse {
            try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)\(path)"))
        }
        /// Connections the server accepted, asked over a fresh client (not counting itself).
        func accepted() throws -> Int {
            let other = try HTTPClient(trust: pki.trust(), timeout: 10)
            let n = try Int(other.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/connections")).text) ?? -1
            return n - 1
        }
        deinit { server.stop(); pki.cleanup() }
    }

    @Test func sequentialRequestsShareOneConnection() throws {
        let f = try Fixture()
        #expect(try f.get("/hello").text == "hello")
        #expect(try f.get("/chunked").text == "chunk-one,chunk-two,chunk-three")
        #expect(try f.client.send(HTTPRequest(method: "HEAD", url: "https://127.0.0.1:\(f.server.port)/hello")).body.isEmpty)
        let post = try f.client.send(HTTPRequest(method: "POST", url: "https://127.0.0.1:\(f.server.port)/x", body: Array("one".utf8)))
        let echo = try JSONSerialization.jsonObject(with: Data(post.body)) as! [String: Any]
        #expect((echo["headers"] as! [String: String])["connection"] == nil)
        #expect(try f.get("/status/404").status == 404)
        #expect(try f.accepted() == 1)
        #expect(f.client.pool.count == 1)
    }

    @Test func plainHTTPStillClosesEachConnection() throws {
        let server = try HTTPFixtureServer()
        let client = try HTTPClient()
        let post = try client.send(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(server.port)/x", body: Array("one".utf8)))
        let echo = try JSONSerialization.jsonObject(with: Data(post.body)) as! [String: Any]
        #expect((echo["headers"] as! [String: String])["connection"] == "close")
        _ = try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/hello"))
        #expect(try client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/connections")).text == "3")
        #expect(client.pool.count == 0)
    }

    @Test func connectionCloseFromTheServerIsRespected() throws {
        let f = try Fixture()
        // The fixture keeps the connection open after "Connection: close": only a client that
        // honours the header opens a new one each time.
        for _ in 0..<3 { #expect(try f.get("/close-length").text == "closing") }
        #expect(try f.accepted() == 3)
        #expect(f.client.pool.count == 0)
    }

    @Test func responsesEndingAtCloseAreNotReused() throws {
        let f = try Fixture()
        #expect(try f.get("/close").text == "until-close")
        #expect(try f.get("/hello").text == "hello")
        #expect(try f.accepted() == 2)
    }

    @Test func anIdleConnectionTheServerDropsIsReplacedTransparently() throws {
        let f = try Fixture()
        // The server closes 0.5 s after answering, without reading: the next request, sent on the
        // kept connection before that, meets a reset and goes out again on a new connection.
        #expect(try f.get("/drop-later").text == "dropping")
        #expect(try f.get("/hello").text == "hello")
        // And once it has surely closed (seen by the idle check before reuse).
        #expect(try f.get("/drop-later").text == "dropping")
        usleep(800_000)
        #expect(try f.get("/hello").text == "hello")
        #expect(try f.accepted() == 3)
    }

    @Test func aFailureAfterPartOfTheAnswerIsNotRetried() throws {
        let f = try Fixture()
        _ = try f.get("/hello")
        // 11 MiB exceeds the 10 MiB cap: an error after the answer began, on a reused connection.
        #expect(throws: HTTPError.tooLarge(host: "127.0.0.1:\(f.server.port)", limit: 10 * 1024 * 1024)) { try f.get("/big") }
        #expect(try f.accepted() == 1)
    }

    @Test func concurrentRequestsUseAtMostOneConnectionEach() throws {
        let f = try Fixture()
        let texts = Slots<String>(count: 40)
        let client = f.client
        let port = f.server.port
        runConcurrently(count: 40, width: 4) { i in
            let r = try? client.send(HTTPRequest(url: "https://127.0.0.1:\(port)/\(i % 2 == 0 ? "hello" : "chunked")"))
            texts.set(i, r?.text ?? "failed")
        }
        let values = texts.values
        for i in 0..<40 { #expect(values[i] == (i % 2 == 0 ? "hello" : "chunk-one,chunk-two,chunk-three")) }
        let accepted = try f.accepted()
        #expect(accepted >= 1 && accepted <= 4)
        #expect(client.pool.count == accepted)
    }

    @Test func connectionsIdleLongerThanTheLimitAreNotReused() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let server = try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath])
        let client = try HTTPClient(trust: pki.trust(), timeout: 10, idleSeconds: 0.2)
        _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/hello"))
        _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/hello"))
        usleep(400_000)
        _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/hello"))
        #expect(try client.send(HTTPRequest(url: "https://127.0.0.1:\(server.port)/connections")).text == "2")
        let off = try HTTPClient(trust: pki.trust(), timeout: 10, idleConnections: 0)
        let post = try off.send(HTTPRequest(method: "POST", url: "https://127.0.0.1:\(server.port)/x", body: Array("one".utf8)))
        let echo = try JSONSerialization.jsonObject(with: Data(post.body)) as! [String: Any]
        #expect((echo["headers"] as! [String: String])["connection"] == "close")
        #expect(off.pool.count == 0)
    }

    @Test func theIdlePoolIsCapped() throws {
        let pki = try HTTPTestPKI()
        defer { pki.cleanup() }
        let servers = try (0..<6).map { _ in try HTTPFixtureServer(["--cert", pki.certPath, "--key", pki.keyPath]) }
        let client = try HTTPClient(trust: pki.trust(), timeout: 10)
        for s in servers { _ = try client.send(HTTPRequest(url: "https://127.0.0.1:\(s.port)/hello")) }
        #expect(client.pool.count == 4)
    }
}
