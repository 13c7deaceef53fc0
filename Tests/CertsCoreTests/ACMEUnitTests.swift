import Foundation
import Testing
@testable import CertsCore

/// Starts curl against the server, serves while it runs, returns (status code, body).
func curlWhileServing(_ server: ChallengeServer, _ args: [String]) throws -> (Int, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    p.arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "5"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    while p.isRunning { server.serve(for: 0.05) }
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? -1, lines.dropLast().joined(separator: "\n"))
}

@Suite struct ACMEChallengeServerTests {
    @Test func servesTheKeyAuthorizationForItsTokenAndNothingElse() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        server.add(token: "tok_en-1", keyAuthorization: "tok_en-1.thumb")
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try curlWhileServing(server, ["\(base)/.well-known/acme-challenge/tok_en-1"]) == (200, "tok_en-1.thumb"))
        #expect(try curlWhileServing(server, ["\(base)/.well-known/acme-challenge/other"]).0 == 404)
        #expect(try curlWhileServing(server, ["\(base)/etc/passwd"]).0 == 404)
        #expect(try curlWhileServing(server, ["\(base)/.well-known/acme-challenge/../acme-challenge/tok_en-1"]).0 != 500)
        #expect(try curlWhileServing(server, ["-X", "POST", "-d", "x", "\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 405)
        server.remove(token: "tok_en-1")
        #expect(try curlWhileServing(server, ["\(base)/.well-known/acme-challenge/tok_en-1"]).0 == 404)
    }

    @Test func aSilentClientDoesNotStopTheServerFromAnsweringOthers() throws {
        let server = try ChallengeServer(address: "127.0.0.1", port: 0)
        server.add(token: "t", keyAuthorization: "t.k")
        // A connection that never sends a request: the server gives up on it after its deadline.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = server.port.bigEndian
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(try curlWhileServing(server, ["--max-time", "15", "http://127.0.0.1:\(server.port)/.well-known/acme-challenge/t"]) == (200, "t.k"))
    }

    @Test func aBusyPortIsAClearError() throws {
        let first = try ChallengeServer(address: "127.0.0.1", port: 0)
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
        #expect(throws: InputError.self) { try IssuanceRequest.validate(identifiers: [w], method: .webroot("/tmp")) }
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
