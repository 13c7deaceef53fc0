#if canImport(Glibc)
import Glibc
#endif

/// Why a DNS question got no usable answer.
public enum DNSError: CertsFailure, Equatable {
    case invalidName(String)
    case invalidServer(String)
    case malformed(String)
    case noAnswer(server: String, name: String, type: String, reason: String)
    case timeout(server: String, name: String, type: String, seconds: Double)
    case noResolver(String)
    /// DNS-01: `server` still lacks a TXT value for `name` after `seconds` (--dns-timeout).
    case notPropagated(name: String, server: String, seen: String, seconds: Double)
    /// RFC 8659: the relevant CAA record set of `name` does not let this CA issue.
    case caaForbids(name: String, record: String, reason: String)

    public var kind: FailureKind {
        switch self {
        case .invalidName, .invalidServer: return .input
        default: return .remote
        }
    }

    public var description: String {
        switch self {
        case .invalidName(let n): return "\(n) is not a DNS name"
        case .invalidServer(let s): return "\(s) is not a DNS server address (give IP or IP:PORT, [IPv6]:PORT)"
        case .malformed(let r): return "malformed DNS answer: \(r)"
        case .noAnswer(let s, let n, let t, let r): return "DNS server \(s) gave no answer for \(n) \(t): \(r)"
        case .timeout(let s, let n, let t, let secs): return "DNS server \(s) did not answer for \(n) \(t) within \(TLSError.seconds(secs))"
        case .noResolver(let r): return "no DNS resolver: \(r)"
        case .notPropagated(let n, let s, let seen, let secs):
            return "the DNS-01 TXT record \(n) is not on the authoritative server \(s) after \(TLSError.seconds(secs)) (\(seen)); check the hook, or give the zone more time with --dns-timeout"
        case .caaForbids(let n, let r, let reason):
            return "CAA forbids this certificate for \(n): \(r) \(reason) (RFC 8659); ask the domain's owner to change the record, use another CA, or skip the check with --no-caa-check"
        }
    }
}

/// A DNS server's address: an IP literal and a port (53 unless given).
public struct DNSServer: Hashable, Sendable, CustomStringConvertible {
    public let address: String
    public let port: UInt16

    public init(address: String, port: UInt16 = 53) {
        self.address = address
        self.port = port
    }

    /// `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`, `[2001:db8::1]:5353`. Names are refused:
    /// resolving the resolver would need a resolver.
    public init(parsing text: String) throws {
        var host = text, port: UInt16 = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { throw DNSError.invalidServer(text) }
                port = p
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let p = UInt16(text[text.index(after: colon)...]), p > 0 else { throw DNSError.invalidServer(text) }
            port = p
        }
        guard let normal = IPAddress.normalize(host) else { throw DNSError.invalidServer(text) }
        self.init(address: normal, port: port)
    }

    public var description: String { Endpoint.format(host: address, port: port) }

    /// The `nameserver` lines of resolv.conf(5), in order (glibc uses at most 3); 127.0.0.1 when
    /// there are none, as the C library does.
    public static func system(resolvConf path: String = "/etc/resolv.conf") -> [DNSServer] {
        guard let bytes = try? FileSystem.read(path, limit: 1 << 20) else { return [DNSServer(address: "127.0.0.1")] }
        var servers: [DNSServer] = []
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" }) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            // A scope suffix (fe80::1%eth0) is not supported; such a line is skipped.
            if let normal = IPAddress.normalize(String(fields[1])) { servers.append(DNSServer(address: normal)) }
            if servers.count == 3 { break }
        }
        return servers.isEmpty ? [DNSServer(address: "127.0.0.1")] : servers
    }
}

/// Asks one DNS server one question: over UDP, again over TCP when the answer is truncated
/// (RFC 7766). The answer must carry the query's id and question, or it is ignored (a stray or
/// spoofed datagram), and the wait goes on until the timeout.
public struct DNSClient: Sendable {
    /// Seconds for one exchange (UDP try, or the whole TCP exchange).
    public var timeout: Double
    /// UDP tries before giving up (a lost datagram is not an answer).
    public var attempts: Int

    public init(timeout: Double = 2, attempts: Int = 2) {
        self.timeout = timeout
        self.attempts = max(1, attempts)
    }

    public func query(_ name: String, _ type: DNSType, server: DNSServer, recursionDesired: Bool = true) throws -> DNSMessage {
        let wanted = Self.canonical(name)
        var lastError: DNSError = .timeout(server: server.description, name: wanted, type: type.description, seconds: timeout)
        for _ in 0..<attempts {
            let id = Self.randomID()
            let query = try DNSMessage.query(id: id, name: wanted, type: type, recursionDesired: recursionDesired)
            do {
                let answer = try exchangeUDP(query, id: id, name: wanted, type: type, server: server)
                if answer.truncated { return try exchangeTCP(query, id: id, name: wanted, type: type, server: server) }
                return answer
            } catch let e as DNSError {
                lastError = e
                if case .timeout = e { continue }
                throw e
            }
        }
        throw lastError
    }

    /// Lower case, no trailing dot.
    public static func canonical(_ name: String) -> String {
        (name.hasSuffix(".") ? String(name.dropLast()) : name).lowercased()
    }

    /// From the system's CSPRNG: an off-path spoofer must guess it (RFC 5452).
    static func randomID() -> UInt16 { UInt16.random(in: 0...UInt16.max) }

    /// True when `answer` is the reply to this query: same id, a response, the same one question.
    static func matches(_ answer: DNSMessage, id: UInt16, name: String, type: DNSType) -> Bool {
        answer.id == id && answer.isResponse && answer.questions.count == 1
            && answer.questions[0].name == name && answer.questions[0].type == type.rawValue
    }

    private func socketAddress(_ server: DNSServer, socketType: Int32) throws -> (UnsafeMutablePointer<addrinfo>, addrinfo) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = socketType
        hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(server.address, String(server.port), &hints, &list) == 0, let first = list else {
            throw DNSError.invalidServer(server.description)
        }
        return (first, first.pointee)
    }

    private func exchangeUDP(_ query: [UInt8], id: UInt16, name: String, type: DNSType, server: DNSServer) throws -> DNSMessage {
        let (list, ai) = try socketAddress(server, socketType: Int32(SOCK_DGRAM.rawValue))
        defer { freeaddrinfo(list) }
        let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), ai.ai_protocol)
        guard fd >= 0 else { throw DNSError.noAnswer(server: server.description, name: name, type: type.description, reason: FileSystem.errorString(errno)) }
        defer { close(fd) }
        func failed(_ code: Int32) -> DNSError {
            .noAnswer(server: server.description, name: name, type: type.description, reason: FileSystem.errorString(code))
        }
        // connect(2) on UDP: only the server's datagrams arrive, and an ICMP "port unreachable"
        // comes back as ECONNREFUSED instead of a silent wait.
        guard Glibc.connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 else { throw failed(errno) }
        guard query.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == query.count else { throw failed(errno) }
        let deadline = Deadline(seconds: timeout)
        var buffer = [UInt8](repeating: 0, count: 65535)
        while true {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, deadline.remainingMilliseconds)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw failed(errno) }
            if n == 0 { throw DNSError.timeout(server: server.description, name: name, type: type.description, seconds: timeout) }
            let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if got < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw failed(errno)
            }
            // A datagram that does not decode or answers something else is not the answer: wait on.
            guard let answer = try? DNSMessage(decoding: Array(buffer.prefix(got))),
                  Self.matches(answer, id: id, name: name, type: type) else { continue }
            return answer
        }
    }

    private func exchangeTCP(_ query: [UInt8], id: UInt16, name: String, type: DNSType, server: DNSServer) throws -> DNSMessage {
        let deadline = Deadline(seconds: timeout)
        let phase = "DNS over TCP"
        do {
            let sock = try TCPSocket.connect(to: Endpoint(host: server.address, port: server.port), deadline: deadline)
            try sock.send([UInt8(query.count >> 8), UInt8(query.count & 0xff)] + query, deadline: deadline, phase: phase)
            var received: [UInt8] = []
            while true {
                if received.count >= 2 {
                    let length = Int(received[0]) << 8 | Int(received[1])
                    if received.count >= 2 + length {
                        let answer = try DNSMessage(decoding: Array(received[2..<(2 + length)]))
                        guard Self.matches(answer, id: id, name: name, type: type) else {
                            throw DNSError.malformed("the TCP answer from \(server) is for another question")
                        }
                        return answer
                    }
                }
                let chunk = try sock.receive(max: 65537 - received.count, deadline: deadline, phase: phase)
                guard !chunk.isEmpty else { throw DNSError.noAnswer(server: server.description, name: name, type: type.description, reason: "the TCP connection closed before the answer") }
                received += chunk
            }
        } catch let e as TLSError {
            if case .timeout = e { throw DNSError.timeout(server: server.description, name: name, type: type.description, seconds: timeout) }
            throw DNSError.noAnswer(server: server.description, name: name, type: type.description, reason: "\(e)")
        }
    }
}

/// Questions to a recursive resolver (from resolv.conf or `--dns-resolver`): each server in turn
/// until one answers.
public struct DNSResolver: Sendable {
    public let servers: [DNSServer]
    public var client: DNSClient

    public init(servers: [DNSServer], client: DNSClient = DNSClient()) {
        self.servers = servers
        self.client = client
    }

    /// `explicit` (`--dns-resolver`) or else the system's resolv.conf.
    public static func configured(_ explicit: [DNSServer]) -> DNSResolver {
        DNSResolver(servers: explicit.isEmpty ? DNSServer.system() : explicit)
    }

    public func query(_ name: String, _ type: DNSType) throws -> DNSMessage {
        var lastError: Error = DNSError.noResolver("no servers")
        for server in servers {
            do {
                let answer = try client.query(name, type, server: server, recursionDesired: true)
                // SERVFAIL / REFUSED: that server cannot help; another one may.
                if answer.responseCode == DNSResponseCode.serverFailure.rawValue || answer.responseCode == DNSResponseCode.refused.rawValue {
                    lastError = DNSError.noAnswer(server: server.description, name: DNSClient.canonical(name), type: type.description, reason: answer.rcodeText)
                    continue
                }
                return answer
            } catch {
                lastError = error
            }
        }
        throw lastError
    }
}
