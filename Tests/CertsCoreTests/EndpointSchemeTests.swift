import Testing
@testable import CertsCore

/// `SCHEME://HOST[:PORT]` for --endpoint / --connect: default ports and STARTTLS or not.
@Suite struct EndpointSchemeTests {
    @Test func schemesSetTheDefaultPortAndTheDialogue() throws {
        let cases: [(String, UInt16, StartTLSProtocol?)] = [
            ("smtp://mail.example.com", 25, .smtp), ("submission://mail.example.com", 587, .smtp),
            ("smtps://mail.example.com", 465, nil), ("imap://mail.example.com", 143, .imap),
            ("imaps://mail.example.com", 993, nil), ("pop3://mail.example.com", 110, .pop3),
            ("pop3s://mail.example.com", 995, nil), ("ftp://files.example.com", 21, .ftp),
            ("ldap://dir.example.com", 389, .ldap), ("ldaps://dir.example.com", 636, nil),
            ("xmpp://chat.example.com", 5222, .xmpp), ("postgres://db.example.com", 5432, .postgres),
            ("mysql://db.example.com", 3306, .mysql), ("https://www.example.com/path", 443, nil),
            ("SMTP://mail.example.com:2525", 2525, .smtp), ("postgres://[::1]:6543", 6543, .postgres),
            ("www.example.com:8443", 8443, nil),
        ]
        for (text, port, proto) in cases {
            let e = try Endpoint(parsing: text)
            #expect(e.port == port, "\(text)")
            #expect(e.startTLS == proto, "\(text)")
        }
        #expect(try Endpoint(parsing: "smtp://mail.example.com").description == "smtp://mail.example.com:25")
        #expect(try Endpoint(parsing: "smtps://mail.example.com").description == "mail.example.com:465")
    }

    @Test func unknownSchemeIsABadValueNamingTheKnownOnes() {
        #expect(throws: InputError.self) { try Endpoint(parsing: "gopher://example.com") }
        do { _ = try Endpoint(parsing: "gopher://example.com") } catch {
            #expect("\(error)".contains("smtp://"))
        }
        #expect(throws: InputError.self) { try Endpoint(parsing: "smtp://") }
    }

    @Test func serverSpeechNamesTheProtocol() {
        #expect(ServerSpeech.describe(Array("220 mx.example ESMTP Postfix\r\n".utf8))?.scheme == "smtp")
        #expect(ServerSpeech.describe(Array("HTTP/1.1 400 Bad Request\r\n".utf8))?.words.hasPrefix("an HTTP response") == true)
        #expect(ServerSpeech.describe(Array("* OK IMAP4rev1 ready\r\n".utf8))?.scheme == "imap")
        #expect(ServerSpeech.describe(Array("+OK POP3 ready\r\n".utf8))?.scheme == "pop3")
        #expect(ServerSpeech.describe([0x16, 0x03, 0x03, 0x00, 0x10]) == nil)  // a TLS record: not "something else"
        #expect(ServerSpeech.describe([]) == nil)
    }
}
