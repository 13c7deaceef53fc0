/// The plaintext protocols whose servers switch to TLS on request (STARTTLS and its relatives).
public enum StartTLSProtocol: String, Sendable, CaseIterable {
    case smtp, imap, pop3, ftp, ldap, xmpp, postgres, mysql

    /// The scheme that names it in `--endpoint` / `--connect` (`smtp://`).
    public var scheme: String { rawValue }

    /// The protocol's name in messages.
    public var displayName: String {
        switch self {
        case .smtp: return "SMTP"
        case .imap: return "IMAP"
        case .pop3: return "POP3"
        case .ftp: return "FTP"
        case .ldap: return "LDAP"
        case .xmpp: return "XMPP"
        case .postgres: return "PostgreSQL"
        case .mysql: return "MySQL"
        }
    }
}

/// A scheme users may put before `HOST[:PORT]`: its default port and whether it starts in
/// plaintext. Direct-TLS schemes (`smtps://`, `https://`) only set the port.
public struct EndpointScheme: Sendable, Equatable {
    public let name: String
    public let port: UInt16
    public let startTLS: StartTLSProtocol?

    public static let all: [EndpointScheme] = [
        .init(name: "https", port: 443, startTLS: nil),
        .init(name: "smtp", port: 25, startTLS: .smtp),
        .init(name: "submission", port: 587, startTLS: .smtp),
        .init(name: "smtps", port: 465, startTLS: nil),
        .init(name: "imap", port: 143, startTLS: .imap),
        .init(name: "imaps", port: 993, startTLS: nil),
        .init(name: "pop3", port: 110, startTLS: .pop3),
        .init(name: "pop3s", port: 995, startTLS: nil),
        .init(name: "ftp", port: 21, startTLS: .ftp),
        .init(name: "ftps", port: 990, startTLS: nil),
        .init(name: "ldap", port: 389, startTLS: .ldap),
        .init(name: "ldaps", port: 636, startTLS: nil),
        .init(name: "xmpp", port: 5222, startTLS: .xmpp),
        .init(name: "postgres", port: 5432, startTLS: .postgres),
        .init(name: "postgresql", port: 5432, startTLS: .postgres),
        .init(name: "mysql", port: 3306, startTLS: .mysql),
    ]

    public static func named(_ name: String) -> EndpointScheme? { all.first { $0.name == name } }
}

/// The plaintext dialogue that asks a server to start TLS, run on the connected socket within the
/// connection's deadline. Lines are bounded (`maxLine`) and so is everything read (`maxTotal`):
/// a server that talks forever, or a byte a second, ends in an error, not a hang.
///
/// Sources: SMTP RFC 3207, IMAP RFC 9051 §6.2.1, POP3 RFC 2595 §4, FTP RFC 4217 §4, LDAP RFC 4511
/// §4.14, XMPP RFC 6120 §5, PostgreSQL "SSLRequest" (protocol docs §55.2.10), MySQL
/// "Protocol::SSLRequest" (client/server protocol, connection phase).
struct StartTLSDialogue {
    static let maxLine = 4096
    static let maxTotal = 64 * 1024

    let proto: StartTLSProtocol
    let socket: TCPSocket
    let deadline: Deadline
    /// The name the server is known by (XMPP's `to`); nil for an IP literal without SNI.
    let serverName: String?
    private var buffer: [UInt8] = []
    private var total = 0

    init(_ proto: StartTLSProtocol, socket: TCPSocket, deadline: Deadline, serverName: String?) {
        self.proto = proto
        self.socket = socket
        self.deadline = deadline
        self.serverName = serverName
    }

    /// Runs the dialogue; on return the next bytes on the socket are the server's TLS handshake.
    mutating func run() throws {
        switch proto {
        case .smtp: try smtp()
        case .imap: try imap()
        case .pop3: try pop3()
        case .ftp: try ftp()
        case .ldap: try ldap()
        case .xmpp: try xmpp()
        case .postgres: try postgres()
        case .mysql: try mysql()
        }
        // RFC 3207 §4.2 and its kin: anything the server sent after its "go ahead" and before TLS
        // is not to be trusted (STARTTLS command injection); it would also break the handshake.
        if !buffer.isEmpty { throw fail("the server sent \(buffer.count) unexpected bytes after agreeing to start TLS") }
    }

    // MARK: - Protocols

    private mutating func smtp() throws {
        let greeting = try reply(phase: "the SMTP greeting")
        guard greeting.code == 220 else { throw fail("greeting \(greeting.summary)", spoke: greeting.raw) }
        try send("EHLO certs.invalid\r\n", phase: "EHLO")
        let ehlo = try reply(phase: "the answer to EHLO")
        guard ehlo.code == 250 else { throw fail("EHLO answered \(ehlo.summary)") }
        let offers = ehlo.lines.dropFirst().contains { $0.dropFirst(4).uppercased().split(separator: " ").first == "STARTTLS" }
        guard offers else { throw fail("the server does not offer STARTTLS (EHLO answered \(ehlo.summary))") }
        try send("STARTTLS\r\n", phase: "STARTTLS")
        let answer = try reply(phase: "the answer to STARTTLS")
        guard answer.code == 220 else { throw fail("STARTTLS answered \(answer.summary)") }
    }

    private mutating func ftp() throws {
        let greeting = try reply(phase: "the FTP greeting")
        guard greeting.code == 220 else { throw fail("greeting \(greeting.summary)", spoke: greeting.raw) }
        try send("AUTH TLS\r\n", phase: "AUTH TLS")
        let answer = try reply(phase: "the answer to AUTH TLS")
        guard answer.code == 234 else { throw fail("AUTH TLS answered \(answer.summary)") }
    }

    private mutating func imap() throws {
        let greeting = try line(phase: "the IMAP greeting")
        guard greeting.hasPrefix("* OK") else { throw fail("greeting \(Self.quote(greeting))", spoke: Array(greeting.utf8)) }
        try send("C1 STARTTLS\r\n", phase: "STARTTLS")
        while true {
            let l = try line(phase: "the answer to STARTTLS")
            if l.hasPrefix("* ") { continue }  // untagged data (CAPABILITY) may come first
            guard l.hasPrefix("C1 OK") else { throw fail("STARTTLS answered \(Self.quote(l))") }
            return
        }
    }

    private mutating func pop3() throws {
        let greeting = try line(phase: "the POP3 greeting")
        guard greeting.hasPrefix("+OK") else { throw fail("greeting \(Self.quote(greeting))", spoke: Array(greeting.utf8)) }
        try send("STLS\r\n", phase: "STLS")
        let answer = try line(phase: "the answer to STLS")
        guard answer.hasPrefix("+OK") else { throw fail("STLS answered \(Self.quote(answer))") }
    }

    /// ExtendedRequest { requestName "1.3.6.1.4.1.1466.20037" } as message 1, then its
    /// ExtendedResponse's resultCode (0 = success) and diagnosticMessage.
    private mutating func ldap() throws {
        let oid = Array("1.3.6.1.4.1.1466.20037".utf8)
        let request: [UInt8] = [0x77, UInt8(oid.count + 2), 0x80, UInt8(oid.count)] + oid
        let message: [UInt8] = [0x30, UInt8(request.count + 3), 0x02, 0x01, 0x01] + request
        try send(message, phase: "the StartTLS request")
        let header = try bytes(2, phase: "the StartTLS response")
        guard header[0] == 0x30 else { throw fail("the answer is not an LDAP message", spoke: header) }
        var length = Int(header[1])
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard (1...3).contains(count) else { throw fail("the answer has an unreasonable length") }
            length = try bytes(count, phase: "the StartTLS response").reduce(0) { $0 << 8 | Int($1) }
        }
        guard length <= Self.maxTotal else { throw fail("the answer is \(length) bytes long") }
        var der = DERReader(try bytes(length, phase: "the StartTLS response"))
        guard der.next()?.tag == 0x02, let response = der.next(), response.tag == 0x78 else {
            throw fail("the answer is not an ExtendedResponse")
        }
        var fields = DERReader(response.content)
        guard let code = fields.next(), code.tag == 0x0A, code.content.count == 1 else { throw fail("the answer has no resultCode") }
        guard code.content[0] == 0 else {
            _ = fields.next()  // matchedDN
            let message = fields.next().map { String(decoding: $0.content, as: UTF8.self) } ?? ""
            throw fail("StartTLS refused, resultCode \(code.content[0])\(message.isEmpty ? "" : ": \(Self.quote(message))")")
        }
    }

    private mutating func xmpp() throws {
        let to = serverName.map { " to='\(Self.xmlEscape($0))'" } ?? ""
        try send("<?xml version='1.0'?><stream:stream\(to) xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
                 phase: "the stream header")
        let features = try readUntil(any: ["</stream:features>", "<stream:features/>", "</stream:stream>", "<stream:error"], phase: "the stream features")
        if features.contains("<stream:error") || features.contains("</stream:stream>") { throw fail("the server closed the stream: \(Self.quote(features))") }
        guard features.contains("urn:ietf:params:xml:ns:xmpp-tls") else { throw fail("the server does not offer STARTTLS in its stream features") }
        buffer.removeAll()
        try send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", phase: "STARTTLS")
        let answer = try readUntil(any: ["<proceed", "<failure", "</stream:stream>"], phase: "the answer to STARTTLS")
        guard answer.contains("<proceed") else { throw fail("STARTTLS refused: \(Self.quote(answer))") }
        // The rest of <proceed .../> is markup, not TLS.
        if let end = buffer.firstIndex(of: UInt8(ascii: ">")) { buffer.removeSubrange(...end) } else {
            _ = try readUntil(any: [">"], phase: "the answer to STARTTLS")
        }
    }

    /// SSLRequest (length 8, code 80877103); one byte back: 'S' go ahead, 'N' no TLS, or an error.
    private mutating func postgres() throws {
        try send([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F], phase: "the SSLRequest")
        let answer = try bytes(1, phase: "the answer to SSLRequest")
        switch answer[0] {
        case UInt8(ascii: "S"): return
        case UInt8(ascii: "N"): throw fail("the server does not accept TLS (ssl = off in postgresql.conf)")
        case UInt8(ascii: "E"):
            let more = (try? bytes(min(available, 512), phase: "the error")) ?? []
            throw fail("the server answered SSLRequest with an error", spoke: answer + more)
        default:
            throw fail("the answer to SSLRequest is not PostgreSQL's", spoke: answer + buffer)
        }
    }

    /// The server's protocol-10 greeting must offer CLIENT_SSL; the client answers with a 32-byte
    /// SSLRequest (capabilities, max packet, charset, 23 zero bytes) and TLS follows.
    private mutating func mysql() throws {
        let header = try bytes(4, phase: "the MySQL greeting")
        let length = Int(header[0]) | Int(header[1]) << 8 | Int(header[2]) << 16
        guard length > 0, length <= 4096 else { throw fail("the greeting is not MySQL's", spoke: header + buffer) }
        let payload = try bytes(length, phase: "the MySQL greeting")
        if payload[0] == 0xFF {
            throw fail("the server refused the connection: \(Self.quote(MySQLGreeting.errorMessage(payload)))")
        }
        guard let greeting = MySQLGreeting(payload) else { throw fail("the greeting is not MySQL's", spoke: header + payload) }
        let clientSSL: UInt32 = 0x0800
        guard greeting.capabilities & clientSSL != 0 else {
            throw fail("\(greeting.serverVersion) does not offer TLS (start it with --ssl-cert and --ssl-key)")
        }
        // CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SSL | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH
        let flags: UInt32 = 0x1 | 0x200 | clientSSL | 0x8000 | 0x80000
        var request: [UInt8] = [32, 0, 0, header[3] &+ 1]
        request += withUnsafeBytes(of: flags.littleEndian, Array.init)
        request += withUnsafeBytes(of: UInt32(16 * 1024 * 1024).littleEndian, Array.init)
        request.append(45)  // utf8mb4_general_ci
        request += [UInt8](repeating: 0, count: 23)
        try send(request, phase: "the SSLRequest")
    }

    // MARK: - Reading and writing, bounded

    private func fail(_ detail: String, spoke: [UInt8]? = nil) -> TLSError {
        // What the server said, named, beats our view of why it is wrong.
        let text = spoke.flatMap(ServerSpeech.describe).map { "the server answered with \($0.words)" } ?? detail
        return .startTLS(endpoint: socket.peerAddress, protocol: proto.displayName, detail: text)
    }

    private func send(_ text: String, phase: String) throws { try send(Array(text.utf8), phase: phase) }

    private func send(_ bytes: [UInt8], phase: String) throws {
        try socket.send(bytes, deadline: deadline, phase: "\(proto.displayName) \(phase)")
    }

    /// Bytes already buffered.
    private var available: Int { buffer.count }

    /// Reads more into `buffer`; throws on close, timeout, or past `maxTotal`.
    private mutating func fill(phase: String) throws {
        guard total < Self.maxTotal else { throw fail("the server sent more than \(Self.maxTotal / 1024) KiB during \(phase)") }
        let chunk = try socket.receive(max: min(4096, Self.maxTotal - total), deadline: deadline,
                                       phase: "\(phase) (\(proto.scheme)://)")
        guard !chunk.isEmpty else {
            throw fail("the server closed the connection during \(phase)", spoke: buffer.isEmpty ? nil : buffer)
        }
        total += chunk.count
        buffer += chunk
    }

    private mutating func bytes(_ n: Int, phase: String) throws -> [UInt8] {
        while buffer.count < n { try fill(phase: phase) }
        let out = Array(buffer.prefix(n))
        buffer.removeFirst(n)
        return out
    }

    /// One line without its CR LF, at most `maxLine` bytes.
    private mutating func line(phase: String) throws -> String {
        while true {
            if let lf = buffer.firstIndex(of: 0x0A) {
                var bytes = Array(buffer[..<lf])
                buffer.removeSubrange(...lf)
                if bytes.last == 0x0D { bytes.removeLast() }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard buffer.count <= Self.maxLine else {
                throw fail("a line of more than \(Self.maxLine) bytes during \(phase)", spoke: buffer)
            }
            try fill(phase: phase)
        }
    }

    /// An SMTP/FTP reply: `ddd-text` lines continue, `ddd text` ends (RFC 5321 §4.2.1).
    private mutating func reply(phase: String) throws -> Reply {
        var lines: [String] = []
        var raw: [UInt8] = []
        while true {
            let l = try line(phase: phase)
            lines.append(l)
            raw += Array(l.utf8) + [0x0A]
            let b = Array(l.utf8)
            guard b.count >= 3, let code = Int(String(decoding: b[0..<3], as: UTF8.self)) else {
                throw fail("\(phase) is not a \(proto.displayName) reply: \(Self.quote(l))", spoke: raw)
            }
            if b.count == 3 || b[3] == UInt8(ascii: " ") { return Reply(code: code, lines: lines, raw: raw) }
            guard b[3] == UInt8(ascii: "-") else { throw fail("\(phase) is not a \(proto.displayName) reply: \(Self.quote(l))", spoke: raw) }
        }
    }

    private mutating func readUntil(any markers: [String], phase: String) throws -> String {
        while true {
            let text = String(decoding: buffer, as: UTF8.self)
            if markers.contains(where: { text.contains($0) }) { return text }
            try fill(phase: phase)
        }
    }

    struct Reply {
        let code: Int
        let lines: [String]
        let raw: [UInt8]
        var summary: String { StartTLSDialogue.quote(lines.last ?? "") }
    }

    static func quote(_ text: String) -> String {
        let clean = String(text.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
        return "'" + (clean.count > 120 ? clean.prefix(120) + "…" : clean) + "'"
    }

    static func xmlEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "'": out += "&apos;"
            case "<": out += "&lt;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// The fields of a MySQL/MariaDB protocol-10 greeting that say who it is and what it offers.
struct MySQLGreeting {
    let serverVersion: String
    let capabilities: UInt32

    init?(_ p: [UInt8]) {
        guard p.count > 1, p[0] == 10, let nul = p[1...].firstIndex(of: 0) else { return nil }
        let version = String(decoding: p[1..<nul], as: UTF8.self)
        guard version.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else { return nil }
        serverVersion = version
        // thread id (4), auth-plugin-data part 1 (8), filler (1), then capability flags (low 2).
        let low = nul + 1 + 4 + 8 + 1
        guard p.count >= low + 2 else { return nil }
        var caps = UInt32(p[low]) | UInt32(p[low + 1]) << 8
        // charset (1), status (2), capability flags (high 2).
        let high = low + 2 + 1 + 2
        if p.count >= high + 2 { caps |= UInt32(p[high]) << 16 | UInt32(p[high + 1]) << 24 }
        capabilities = caps
    }

    /// ERR packet: 0xFF, error code (2), optional '#' and SQL state (5), message.
    static func errorMessage(_ p: [UInt8]) -> String {
        var start = 3
        if p.count > start, p[start] == UInt8(ascii: "#") { start += 6 }
        return p.count > start ? String(decoding: p[start...], as: UTF8.self) : ""
    }
}

/// What a server said when it was expected to speak TLS and did not: an SMTP banner, an HTTP
/// response, a MySQL greeting… named from the first bytes it sent.
public struct ServerSpeech: Sendable, Equatable, CustomStringConvertible {
    /// In words, with the server's own first line: "an SMTP banner '220 mail.example ESMTP'".
    public let words: String
    /// The scheme that would talk to it (`smtp`), when there is one.
    public let scheme: String?

    public var description: String { words }

    /// nil when the bytes look like TLS (a record header) or there are none.
    public static func describe(_ bytes: [UInt8]) -> ServerSpeech? {
        guard let first = bytes.first else { return nil }
        if (0x14...0x18).contains(first), bytes.count < 2 || bytes[1] == 3 { return nil }
        let text = String(decoding: bytes.prefix(512), as: UTF8.self)
        let firstLine = String(text.split(whereSeparator: \.isNewline).first ?? "")
        let quoted = StartTLSDialogue.quote(firstLine)
        func said(_ words: String, _ scheme: String? = nil) -> ServerSpeech { ServerSpeech(words: words, scheme: scheme) }
        if text.hasPrefix("HTTP/") { return said("an HTTP response \(quoted)") }
        let lower = text.prefix(16).lowercased()
        if lower.hasPrefix("<!doctype html") || lower.hasPrefix("<html") {
            return said("an HTML page \(quoted) (an HTTP server answering a request it could not parse)")
        }
        if text.hasPrefix("SSH-") { return said("an SSH banner \(quoted)") }
        if text.hasPrefix("* OK") || text.hasPrefix("* PREAUTH") || text.hasPrefix("* BYE") { return said("an IMAP greeting \(quoted)", "imap") }
        if text.hasPrefix("+OK") || text.hasPrefix("-ERR") { return said("a POP3 greeting \(quoted)", "pop3") }
        if text.hasPrefix("<?xml") || text.hasPrefix("<stream") { return said("an XMPP stream \(quoted)", "xmpp") }
        if bytes.count >= 4, [UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "4"), UInt8(ascii: "5")].contains(bytes[0]),
           bytes[1...2].allSatisfy({ (0x30...0x39).contains($0) }), bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-") {
            let upper = firstLine.uppercased()
            if upper.contains("FTP") && !upper.contains("SMTP") { return said("an FTP greeting \(quoted)", "ftp") }
            if upper.contains("SMTP") || upper.contains("MAIL") { return said("an SMTP banner \(quoted)", "smtp") }
            return said("a greeting \(quoted) (SMTP or FTP)", "smtp")
        }
        if bytes.count > 5 {
            let length = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16
            let payload = Array(bytes.dropFirst(4))
            if length > 0, length < 4096, bytes[3] == 0, let greeting = MySQLGreeting(payload) {
                return said("a MySQL greeting from \(StartTLSDialogue.quote(greeting.serverVersion))", "mysql")
            }
            if length > 0, length < 4096, payload.first == 0xFF {
                return said("a MySQL error \(StartTLSDialogue.quote(MySQLGreeting.errorMessage(payload)))", "mysql")
            }
        }
        if first == UInt8(ascii: "E"), bytes.count >= 5, bytes[1] == 0, let message = postgresError(bytes) {
            return said("a PostgreSQL error \(StartTLSDialogue.quote(message))", "postgres")
        }
        let printable = bytes.prefix(64).allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0D || $0 == 0x0A || $0 == 0x09 }
        if printable { return said("plain text \(quoted)") }
        return said("bytes " + bytes.prefix(16).hexString + (bytes.count > 16 ? "…" : ""))
    }

    /// The 'M' (message) field of a PostgreSQL ErrorResponse.
    static func postgresError(_ bytes: [UInt8]) -> String? {
        var i = 5
        while i < bytes.count, bytes[i] != 0 {
            let field = bytes[i]
            guard let end = bytes[(i + 1)...].firstIndex(of: 0) else { return nil }
            if field == UInt8(ascii: "M") { return String(decoding: bytes[(i + 1)..<end], as: UTF8.self) }
            i = end + 1
        }
        return nil
    }
}
