import Foundation
import Testing
@testable import CertsCore

/// The TLS-ALPN-01 responder (RFC 8737) against the real openssl s_client: what a validator sees.
@Suite struct TLSALPNResponderTests {
    /// `openssl s_client` to the responder, stdout and stderr together, with its exit status.
    func handshake(_ port: UInt16, sni: String?, alpn: String?, extra: [String] = []) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-showcerts"] + (sni.map { ["-servername", $0] } ?? ["-noservername"])
            + (alpn.map { ["-alpn", $0] } ?? []) + extra
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = Pipe()
        try p.run()
        try (p.standardInput as? Pipe)?.fileHandleForWriting.close()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func servedCertificates(_ output: String) -> [Certificate] { (try? Certificate.parseAll(Array(output.utf8))) ?? [] }

    func responder(_ identifiers: [(String, String)]) throws -> TLSALPNResponder {
        let r = try TLSALPNResponder(address: "127.0.0.1", port: 0)
        for (name, keyAuthorization) in identifiers {
            try r.add(identifier: try ACMEIdentifier(parsing: name), keyAuthorization: keyAuthorization, now: currentUnixTime())
        }
        try r.start()
        return r
    }

    @Test func theCertificateHoldsTheCriticalAcmeIdentifierWithTheExactBytesAndOneName() throws {
        let r = try responder([("a.example", "tok.thumb"), ("b.example", "other.thumb")])
        defer { r.close() }
        let result = try handshake(r.port, sni: "a.example", alpn: "acme-tls/1")
        #expect(result.output.contains("ALPN protocol: acme-tls/1"), "\(result.output)")
        let certs = servedCertificates(result.output)
        try #require(certs.count == 1, "\(result.output)")
        let leaf = certs[0]
        #expect(leaf.subjectAlternativeNames == [.dns("a.example")])
        #expect(leaf.isSelfSigned)
        // Extension ::= SEQUENCE { extnID 1.3.6.1.5.5.7.1.31, critical TRUE, extnValue OCTET STRING { OCTET STRING (32) } }
        let digest = SHA256Bytes.of("tok.thumb")
        try #require(digest.count == 32)
        let expected: [UInt8] = [0x30, 0x31, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x1f, 0x01, 0x01, 0xff, 0x04, 0x22, 0x04, 0x20] + digest
        let der = try leaf.der()
        #expect(der.firstRange(of: expected) != nil, "the acmeIdentifier extension is not encoded as RFC 8737 §3 says")
        #expect(TLSALPNResponder.acmeIdentifierValue(keyAuthorization: "tok.thumb") == [0x04, 0x20] + digest)

        // TLS 1.2 (RFC 8737 §4 allows it) the same.
        let v12 = try handshake(r.port, sni: "a.example", alpn: "acme-tls/1", extra: ["-tls1_2"])
        #expect(v12.output.contains("ALPN protocol: acme-tls/1") && servedCertificates(v12.output).first?.subjectAlternativeNames == [.dns("a.example")], "\(v12.output)")
        let v12none = try handshake(r.port, sni: "a.example", alpn: nil, extra: ["-tls1_2"])
        #expect(v12none.status != 0 && v12none.output.contains("no application protocol"), "\(v12none.output)")

        // The other name gets its own certificate.
        let b = servedCertificates(try handshake(r.port, sni: "B.example", alpn: "acme-tls/1").output)
        #expect(b.first?.subjectAlternativeNames == [.dns("b.example")])
        #expect(r.served.contains("acme-tls/1 a.example served"), "\(r.served)")
    }

    @Test func aClientWithoutTheAcmeALPNIsRefused() throws {
        let r = try responder([("a.example", "tok.thumb")])
        defer { r.close() }
        let none = try handshake(r.port, sni: "a.example", alpn: nil)
        #expect(none.status != 0)
        #expect(none.output.contains("no application protocol"), "\(none.output)")
        #expect(servedCertificates(none.output).isEmpty)
        let h2 = try handshake(r.port, sni: "a.example", alpn: "h2,http/1.1")
        #expect(h2.status != 0 && h2.output.contains("no application protocol"), "\(h2.output)")
        // certs' own TLS client offers no ALPN: refused too.
        #expect(throws: TLSError.self) { _ = try TLSClient.fetch(host: "127.0.0.1", port: r.port, sni: "a.example", timeout: 5) }
        // acme-tls/1 among others is fine.
        let mixed = try handshake(r.port, sni: "a.example", alpn: "h2,acme-tls/1")
        #expect(mixed.output.contains("ALPN protocol: acme-tls/1"), "\(mixed.output)")
    }

    @Test func aNameWithoutAChallengeOrNoSNIGetsNoCertificate() throws {
        let r = try responder([("a.example", "tok.thumb")])
        defer { r.close() }
        let other = try handshake(r.port, sni: "c.example", alpn: "acme-tls/1")
        #expect(other.status != 0 && (servedCertificates(other.output)).isEmpty, "\(other.output)")
        let bare = try handshake(r.port, sni: nil, alpn: "acme-tls/1")
        #expect(bare.status != 0 && (servedCertificates(bare.output)).isEmpty, "\(bare.output)")
        #expect(r.served.contains("acme-tls/1 c.example refused: no challenge for that name"), "\(r.served)")
        r.remove(identifier: try ACMEIdentifier(parsing: "a.example"))
        #expect((servedCertificates(try handshake(r.port, sni: "a.example", alpn: "acme-tls/1").output)).isEmpty)
    }

    /// RFC 8738 §6: an IP identifier is asked for by its reverse name and answered with an iPAddress SAN.
    @Test func anIPIdentifierIsServedUnderItsReverseName() throws {
        #expect(TLSALPNResponder.serverName(for: try ACMEIdentifier(parsing: "192.0.2.7")) == "7.2.0.192.in-addr.arpa")
        #expect(TLSALPNResponder.serverName(for: try ACMEIdentifier(parsing: "2001:db8::1"))
                == "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
        let r = try responder([("127.0.0.1", "ip.thumb")])
        defer { r.close() }
        let certs = servedCertificates(try handshake(r.port, sni: "1.0.0.127.in-addr.arpa", alpn: "acme-tls/1").output)
        #expect(certs.first?.subjectAlternativeNames == [.ip("127.0.0.1")])
    }

    /// Silent connections held open do not delay a validator's handshake (the loop is shared).
    @Test func silentClientsDoNotDelayAHandshake() throws {
        let r = try responder([("a.example", "tok.thumb")])
        defer { r.close() }
        let silent = (0..<4).map { _ in silentConnection(r.port) }
        defer { for fd in silent { close(fd) } }
        let start = Date()
        #expect(try handshake(r.port, sni: "a.example", alpn: "acme-tls/1").output.contains("ALPN protocol: acme-tls/1"))
        #expect(Date().timeIntervalSince(start) < 3)
    }
}

/// SHA-256 through the openssl CLI, independent of the code under test.
enum SHA256Bytes {
    static func of(_ text: String) -> [UInt8] {
        let hex = Array(((try? opensslCLI(["dgst", "-sha256", "-r"], stdin: Array(text.utf8)))?.stdout ?? "").prefix(64))
        return stride(from: 0, to: hex.count - 1, by: 2).compactMap { UInt8(String(hex[$0...$0 + 1]), radix: 16) }
    }
}
