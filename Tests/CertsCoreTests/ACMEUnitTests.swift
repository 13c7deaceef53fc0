import Foundation
import Testing
@testable import CertsCore

/// Runs curl to the end (the calling thread blocks in `waitUntilExit`, as the ACME client blocks in
/// its challenge POST) and returns (status code, body). The server must answer from its own thread.
func curl(_ args: [String]) throws -> (Int, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
}

/// A TCP connection to 127.0.0.1:port that sends nothing (a silent or slow validator).
func silentConnection(_ port: UInt16) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = port.bigEndian
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    return fd
}

@Suite struct ACMEChallengeServerTests {
    @Test func servesTheKeyAuthorizationForItsTokenAndNothingElse() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        defer { server.close() }
        try server.start()
        server.add(token: "tok_en-1", keyAuthorization: "tok_en-1.thumb")
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try curl(["\(base)/.well-known/acme-challenge/tok_en-1"]) == (200, "tok_en-1.thumb"))
        #expect(try curl(["-I", "\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 200)
        #expect(try curl(["\(base)/.well-known/acme-challenge/other"]).0 == 404)
        #expect(try curl(["\(base)/etc/passwd"]).0 == 404)
        #expect(try curl(["\(base)/.well-known/acme-challenge/../acme-challenge/tok_en-1"]).0 != 500)
        #expect(try curl(["-X", "POST", "-d", "x", "\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 405)
        #expect(try curl(["-H", "X-Big: \(String(repeating: "a", count: 9000))", "\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 400)
        server.remove(token: "tok_en-1")
        #expect(try curl(["\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 404)
        #expect(server.served.contains("GET /.well-known/acme-challenge/tok_en-1 200"))
    }

    /// The bug of issue 15: a CA that validates while the client's challenge POST is in flight.
    /// Here the calling thread is blocked in curl the whole time; only a responder with a thread
    /// of its own can answer.
    @Test func answersWhileTheCallingThreadIsBlocked() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        defer { server.close() }
        server.add(token: "t", keyAuthorization: "t.k")
        try server.start()
        let start = Date()
        #expect(try curl(["http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]) == (200, "t.k"))
        #expect(Date().timeIntervalSince(start) < 3)
    }

    /// Several validators at once (a CA checks from many vantage points): silent connections held
    /// open do not delay an answer to another, well before their 5 s deadline.
    @Test func silentClientsDoNotDelayOthers() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        defer { server.close() }
        server.add(token: "t", keyAuthorization: "t.k")
        try server.start()
        let silent = (0..<4).map { _ in silentConnection(server.port) }
        defer { for fd in silent { close(fd) } }
        let start = Date()
        #expect(try curl(["http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]) == (200, "t.k"))
        #expect(Date().timeIntervalSince(start) < 2)
        // The silent ones are dropped at their deadline: read() sees the end of the stream.
        var byte: UInt8 = 0
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(silent[0], SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(recv(silent[0], &byte, 1, 0) == 0)
    }

    @Test func stopReturnsPromptlyAndNothingIsAnsweredAfterIt() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        defer { server.close() }
        server.add(token: "t", keyAuthorization: "t.k")
        try server.start()
        let held = silentConnection(server.port)
        defer { close(held) }
        #expect(try curl(["http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]).0 == 200)
        let start = Date()
        server.stop()
        #expect(Date().timeIntervalSince(start) < 0.5)
        // Not answered any more (the listener is still bound, so the connect succeeds and times out).
        #expect(try curl(["--max-time", "1", "http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]).0 != 200)
        try server.start()
        #expect(try curl(["http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]) == (200, "t.k"))
    }

    @Test func aBusyPortIsAClearError() throws {
        let first = try ChallengeServer(address: "127.0.0.1", port: 0)
        defer { first.close() }
        #expect {
            _ = try ChallengeServer(address: "127.0.0.1", port: first.port)
        } throws: { error in
            "\(error)".contains("cannot listen on 127.0.0.1:\(first.port)") && "\(error)".contains("in use")
        }
    }
}

@Suite struct ACMEProtocolPieceTests {
    @Test func problemDocumentsBecomeOneLineMessagesWithSubproblems() throws {
        let json = try JSONParser.parse("""
        {"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order\\n:: policy forbids","status":400,
         "subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"invalid domain","identifier":{"type":"dns","value":"bad.example"}}]}
        """)
        let p = try #require(ACMEProblem(json: json, context: "creating the order"))
        #expect(p.shortType == "rejectedIdentifier")
        #expect(p.status == 400)
        #expect(p.description == "ACME server: creating the order: Error creating new order :: policy forbids (rejectedIdentifier); bad.example: invalid domain")
        #expect(!p.description.contains("\n"))
        #expect(p.kind == .remote)
        #expect(ACMEProblem(json: .object([("detail", .string("x"))])) == nil)
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        #expect(ACMEClient.retryAfter("120", now: 0) == 120)
        #expect(ACMEClient.retryAfter(" 3 ", now: 0) == 3)
        #expect(ACMEClient.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777)
        #expect(ACMEClient.retryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now: 784111777) == 10)
        #expect(ACMEClient.retryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now: 784111800) == 0)
        #expect(ACMEClient.retryAfter("soon", now: 0) == nil)
        #expect(ACMEClient.retryAfter("-5", now: 0) == nil)
        #expect(ACMEClient.retryAfter(nil, now: 0) == nil)
    }

    @Test func alternateChainLinksAreFoundAmongOtherLinks() {
        let values = [#"<https://ca/dir>;rel="index""#, #"<https://ca/cert/1/1>;rel="alternate", <https://ca/cert/1/2>; rel=alternate"#]
        #expect(ACMEClient.links(values, rel: "alternate") == ["https://ca/cert/1/1", "https://ca/cert/1/2"])
        #expect(ACMEClient.links(values, rel: "index") == ["https://ca/dir"])
        #expect(ACMEClient.links(["garbage"], rel: "alternate").isEmpty)
    }

    @Test func accountDirectoriesAreNamedAfterTheCAHost() throws {
        #expect(try ACMEAccountStore.directoryHost("https://acme-v02.api.letsencrypt.org/directory") == "acme-v02.api.letsencrypt.org")
        #expect(try ACMEAccountStore.directoryHost("https://127.0.0.1:14000/dir") == "127.0.0.1_14000")
        #expect(try ACMEAccountStore.directoryHost("https://[::1]:14000/dir") == "1_14000")
        #expect(throws: InputError.self) { try ACMEAccountStore.directoryHost("https://../../etc/x") }
        #expect(throws: InputError.self) { try ACMEAccountStore.directoryHost("no-scheme") }
    }

    @Test func identifiersAreValidatedBeforeAnythingIsSent() throws {
        #expect(try ACMEIdentifier(parsing: "WWW.Example.COM.") == ACMEIdentifier(type: "dns", value: "www.example.com"))
        #expect(try ACMEIdentifier(parsing: "127.0.0.1") == ACMEIdentifier(type: "ip", value: "127.0.0.1"))
        #expect(try ACMEIdentifier(parsing: "2001:DB8::1") == ACMEIdentifier(type: "ip", value: "2001:db8::1"))
        #expect(throws: InputError.self) { try ACMEIdentifier(parsing: "bad_domain!.com") }
        let a = try ACMEIdentifier(parsing: "a.example"), w = try ACMEIdentifier(parsing: "*.example.com")
        #expect(throws: InputError.self) { try IssuanceRequest.validate(identifiers: [a, a], method: .standalone(address: "::", port: 80)) }
        #expect(throws: ACMEError.unsuitableChallenge(identifier: "*.example.com", wildcard: true)) {
            try IssuanceRequest.validate(identifiers: [w], method: .webroot("/tmp"))
        }
        try IssuanceRequest.validate(identifiers: [w, a], method: .dnsHook("true"))
    }

    @Test func renewalConfigRoundTrips() throws {
        let config = RenewalConfig(name: "a.example", directoryURL: "https://ca/dir", names: ["a.example", "*.a.example"], method: .dnsHook("hook \"x\""),
                                   keyType: .rsa2048, reuseKey: true, email: "me@a.example", account: "https://ca/acct/1", preferredChain: "Root X", caBundle: nil)
        let back = try RenewalConfig(json: try JSONParser.parse(config.json.rendered()), source: "t")
        #expect(back == config)
        let standalone = RenewalConfig(name: "b", directoryURL: "https://ca/dir", names: ["b.example"], method: .standalone(address: "127.0.0.1", port: 8080),
                                       keyType: .ecP256, reuseKey: false, email: nil, account: nil, preferredChain: nil, caBundle: "/x/ca.pem")
        #expect(try RenewalConfig(json: try JSONParser.parse(standalone.json.rendered()), source: "t") == standalone)
        #expect(throws: InputError.self) { try RenewalConfig(json: .object([("name", .string("x"))]), source: "t") }
    }

    @Test func renewalIsDueInTheLastThirdOrWithinTheGivenDays() {
        let day: Int64 = 86400
        #expect(!RenewalPolicy.isDue(notBefore: 0, notAfter: 90 * day, now: 59 * day))
        #expect(RenewalPolicy.isDue(notBefore: 0, notAfter: 90 * day, now: 61 * day))
        #expect(!RenewalPolicy.isDue(notBefore: 0, notAfter: 90 * day, now: 61 * day, days: 10))
        #expect(RenewalPolicy.isDue(notBefore: 0, notAfter: 90 * day, now: 81 * day, days: 10))
    }

    /// RFC 9773 §4.2's example response.
    @Test func ariSuggestedWindowDecidesRenewal() throws {
        let json = try JSONParser.parse("""
        {"suggestedWindow": {"start": "2025-01-02T04:00:00Z", "end": "2025-01-03T04:00:00Z"},
         "explanationURL": "https://acme.example.com/docs/ari"}
        """)
        let start = RFC3339.parse("2025-01-02T04:00:00Z")!
        #expect(RenewalPolicy.ariDue(json, now: start - 1, fraction: 0) == false)
        #expect(RenewalPolicy.ariDue(json, now: start, fraction: 0) == true)
        #expect(RenewalPolicy.ariDue(json, now: start + 3600, fraction: 0.5) == false)
        #expect(RenewalPolicy.ariDue(json, now: start + 12 * 3600, fraction: 0.5) == true)
        #expect(RenewalPolicy.ariDue(.object([]), now: start) == nil)
        #expect(RenewalPolicy.ariDue(try JSONParser.parse(#"{"suggestedWindow":{"start":"2025-01-03T04:00:00Z","end":"2025-01-02T04:00:00Z"}}"#), now: start) == nil)
    }

    /// RFC 9773 §4.1's example: AKI 69:88:5B:…:D4 and serial 0x87654321.
    @Test func ariCertificateIDMatchesRFC9773Example() throws {
        let s = CoreScratch()
        let dir = s.path
        _ = try opensslCLI(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(dir)/ca.key",
                            "-out", "\(dir)/ca.pem", "-subj", "/CN=ARI CA", "-days", "2",
                            "-addext", "subjectKeyIdentifier=69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4"])
        _ = try opensslCLI(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "\(dir)/l.key",
                            "-out", "\(dir)/l.csr", "-subj", "/CN=leaf"])
        s.write("ext", "authorityKeyIdentifier=keyid:always\n")
        _ = try opensslCLI(["x509", "-req", "-in", "\(dir)/l.csr", "-CA", "\(dir)/ca.pem", "-CAkey", "\(dir)/ca.key", "-set_serial", "0x87654321",
                            "-days", "1", "-extfile", "\(dir)/ext", "-out", "\(dir)/l.pem"])
        let leaf = try Certificate.parseAll(try FileSystem.read("\(dir)/l.pem"))[0]
        #expect(RenewalPolicy.ariCertificateID(leaf) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE")
    }
}
