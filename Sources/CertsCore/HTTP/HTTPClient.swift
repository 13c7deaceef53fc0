#if canImport(Glibc)
import Glibc
#endif

/// One HTTP request. Header names and values must not contain CR or LF.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A complete HTTP response (the body de-chunked).
public struct HTTPResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: [UInt8]

    public init(status: Int, headers: [(String, String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header called `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.first { $0.0.lowercased() == n }?.1
    }

    /// Every value of the header `name`, in order (Link headers repeat).
    public func headers(named name: String) -> [String] {
        let n = name.lowercased()
        return headers.filter { $0.0.lowercased() == n }.map(\.1)
    }

    /// The body as UTF-8 (invalid sequences repaired).
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking HTTP/1.1 client over `TCPSocket` and libssl: HTTPS connections are kept alive and
/// reused (`ConnectionPool`), plain http is one request per connection (`Connection: close`); a
/// deadline over connect + TLS + request + response, a response size cap.
///
/// TLS really verifies: the server's chain against `trust` (or the system roots) and its name
/// (`SSL_set1_host`, or the IP address for IP literals) during the handshake.
/// One client may be used from several threads at once; a connection serves one request at a time.
public final class HTTPClient: @unchecked Sendable {
    let context: TLSContext
    public let timeout: Double
    public let userAgent: String
    /// Largest response (headers + body) accepted.
    public let maximumResponseSize: Int
    /// Where the trusted roots come from, for messages.
    public let trustOrigin: String
    /// Outbound proxies (HTTPS_PROXY/HTTP_PROXY/NO_PROXY unless given).
    public let proxies: ProxyConfiguration

    /// trust: nil = the system roots; else only these (e.g. Pebble's root via --ca-bundle). Verifies
    /// the server chain and hostname (X509_VERIFY_PARAM_set1_host / IP) during the TLS handshake.
    /// proxies: nil = from the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY, lower-case first).
    /// idleConnections, idleSeconds: how many HTTPS connections are kept for reuse, and how long
    /// (0 connections: one request per connection).
    public init(trust: TrustStore? = nil, timeout: Double = 30, userAgent: String = "certs/0.1",
                maximumResponseSize: Int = 10 * 1024 * 1024, proxies: ProxyConfiguration? = nil,
                idleConnections: Int = 4, idleSeconds: Double = 30) throws {
        pool = ConnectionPool(capacity: max(0, idleConnections), maximumAge: idleSeconds)
        self.proxies = try proxies ?? ProxyConfiguration.processEnvironment()
        TLSClient.ignoreSIGPIPE()
        do { context = try TLSContext.verifyingClient(trust: trust) } catch let error as OpenSSLError {
            throw HTTPError.setup(error.description)
        }
        self.timeout = timeout
        self.userAgent = userAgent
        self.maximumResponseSize = maximumResponseSize
        trustOrigin = trust?.origin ?? "the system trust store"
    }

    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let url = try HTTPURL(request.url)
        let proxy = proxies.proxy(for: url)
        // Only TLS connections (direct or tunnelled) are kept: plain http stays one request per
        // connection, so absolute-form requests to a proxy never share one.
        let keepAlive = url.isHTTPS && pool.capacity > 0
        // Through a proxy, plain http goes in absolute form; https is tunnelled with CONNECT.
        var head = try Self.requestHead(request, url: url, userAgent: userAgent,
                                        absoluteForm: proxy != nil && !url.isHTTPS, keepAlive: keepAlive)
        if let proxy, !url.isHTTPS, let auth = proxy.authorization {
            head.removeLast(2)
            head += Array("Proxy-Authorization: \(auth)\r\n\r\n".utf8)
        }
        let deadline = Deadline(seconds: timeout)
        let isHEAD = request.method.uppercased() == "HEAD"
        let key = keepAlive ? Self.poolKey(url, proxy) : nil
        if let key, let reused = pool.take(key) {
            do {
                return try exchange(over: reused, bytes: head + request.body, host: url.authority, isHEAD: isHEAD, key: key, reused: true, deadline: deadline)
            } catch is StaleConnection {
                // The server had closed the idle connection before answering: once more on a new one.
            }
        }
        let transport = try open(url, proxy: proxy, deadline: deadline)
        return try exchange(over: transport, bytes: head + request.body, host: url.authority, isHEAD: isHEAD, key: key, reused: false, deadline: deadline)
    }

    /// Idle kept-alive TLS connections (`idleConnections`, `idleSeconds`).
    let pool: ConnectionPool

    /// Same scheme, host, port and proxy route (credentials included).
    static func poolKey(_ url: HTTPURL, _ proxy: HTTPProxy?) -> String {
        let route = proxy.map { "\($0.host):\($0.port) \($0.authorization ?? "")" } ?? "direct"
        return "https://\(url.authority) \(route)"
    }

    /// A reused connection the server had closed: the request got no byte of answer.
    struct StaleConnection: Error {}

    /// Sends `bytes` and reads one response; keeps the connection in the pool when it may carry
    /// another request. On a reused connection, a failed write or an end of stream before any byte
    /// of the answer is `StaleConnection` (a timeout is not: the deadline is spent).
    private func exchange(over transport: HTTPTransport, bytes: [UInt8], host: String, isHEAD: Bool, key: String?,
                          reused: Bool, deadline: Deadline) throws -> HTTPResponse {
        func stale(_ error: Error) -> Error {
            if case HTTPError.timeout = error { return error }
            return reused ? StaleConnection() : error
        }
        do {
            try transport.write(bytes, deadline: deadline)
        } catch {
            transport.close()
            throw stale(error)
        }
        var reader = HTTPResponseReader(transport: transport, host: host, limit: maximumResponseSize, deadline: deadline)
        let response: HTTPResponse
        do {
            response = try reader.read(isHEAD: isHEAD)
        } catch {
            transport.close()
            throw reader.total == 0 ? stale(error) : error
        }
        if let key, reader.reusable, let tls = transport as? TLSTransport {
            pool.put(tls, key: key)
        } else {
            transport.close()
        }
        return response
    }

    /// A new connection to `url` (through `proxy`), TLS handshake done for https.
    private func open(_ url: HTTPURL, proxy: HTTPProxy?, deadline: Deadline) throws -> HTTPTransport {
        let hostLabel = url.authority
        let via = proxy.map { " (through the proxy \($0))" } ?? ""
        let socket: TCPSocket
        do {
            socket = try TCPSocket.connect(to: proxy.map { Endpoint(host: $0.host, port: $0.port) } ?? Endpoint(host: url.host, port: url.port), deadline: deadline)
        } catch let error as TLSError {
            switch error {
            case .timeout(_, let phase, let s): throw HTTPError.timeout(host: hostLabel + via, phase: phase, seconds: s)
            case .resolve(_, let r): throw HTTPError.connect(host: hostLabel + via, detail: "cannot resolve \(proxy?.host ?? url.host): \(r)")
            case .connect(_, let r): throw HTTPError.connect(host: hostLabel + via, detail: r)
            default: throw HTTPError.connect(host: hostLabel + via, detail: error.description)
            }
        }
        if let proxy, url.isHTTPS { try Self.tunnel(socket, to: url, through: proxy, deadline: deadline) }
        if url.isHTTPS {
            return try TLSTransport(context: context, socket: socket, url: url, trustOrigin: trustOrigin, deadline: deadline)
        }
        return PlainTransport(socket: socket, host: hostLabel)
    }

    /// CONNECT host:port through `proxy` (RFC 9110 §9.3.6); returns once the tunnel is open.
    static func tunnel(_ socket: TCPSocket, to url: HTTPURL, through proxy: HTTPProxy, deadline: Deadline) throws {
        let label = "\(url.authority) (through the proxy \(proxy))"
        let target = url.host.contains(":") ? "[\(url.host)]:\(url.port)" : "\(url.host):\(url.port)"
        var lines = "CONNECT \(target) HTTP/1.1\r\nHost: \(target)\r\n"
        if let auth = proxy.authorization { lines += "Proxy-Authorization: \(auth)\r\n" }
        lines += "\r\n"
        let plain = PlainTransport(socket: socket, host: label)
        try plain.write(Array(lines.utf8), deadline: deadline)
        // Read the proxy's answer head byte by byte: what follows belongs to the TLS session.
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while !(head.count >= 4 && head.suffix(4) == [13, 10, 13, 10]) {
            guard head.count < 16 * 1024 else { throw HTTPError.protocolError(host: label, detail: "the proxy's CONNECT answer is too long") }
            let n = try plain.read(into: &byte, count: 1, deadline: deadline)
            guard n == 1 else { throw HTTPError.connect(host: label, detail: "the proxy closed the connection during CONNECT") }
            head.append(byte)
        }
        let statusLine = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self)
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw HTTPError.protocolError(host: label, detail: "the proxy answered CONNECT with \"\(ACMEProblem.clean(String(statusLine.prefix(80))))\"")
        }
        guard (200..<300).contains(status) else {
            let why = status == 407 ? (proxy.authorization == nil ? ": it wants credentials (http://user:pass@host:port)" : ": it refused the credentials") : ""
            throw HTTPError.connect(host: label, detail: "the proxy refused CONNECT with HTTP \(status)\(why)")
        }
    }

    static func requestHead(_ request: HTTPRequest, url: HTTPURL, userAgent: String, absoluteForm: Bool = false,
                            keepAlive: Bool = false) throws -> [UInt8] {
        let method = request.method.uppercased()
        guard !method.isEmpty, method.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw HTTPError.invalidHeader(name: "method", reason: "'\(request.method)' is not an HTTP method")
        }
        var given = Set<String>()
        let target = absoluteForm ? "http://\(url.authority)\(url.target)" : url.target
        var lines = "\(method) \(target) HTTP/1.1\r\n"
        var extra = ""
        for (name, value) in request.headers {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x3A }) else {
                throw HTTPError.invalidHeader(name: String(name.prefix(40)), reason: "not a header name")
            }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw HTTPError.invalidHeader(name: name, reason: "the value contains a line break")
            }
            let lower = name.lowercased()
            if ["content-length", "transfer-encoding", "connection"].contains(lower) { continue }  // framing is ours
            given.insert(lower)
            extra += "\(name): \(value)\r\n"
        }
        if !given.contains("host") { lines += "Host: \(url.authority)\r\n" }
        if !given.contains("user-agent") { lines += "User-Agent: \(userAgent)\r\n" }
        if !given.contains("accept") { lines += "Accept: */*\r\n" }
        lines += extra
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
            lines += "Content-Length: \(request.body.count)\r\n"
        }
        lines += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        return Array(lines.utf8)
    }
}

// MARK: Transports

protocol HTTPTransport: AnyObject {
    func write(_ bytes: [UInt8], deadline: Deadline) throws
    /// Reads up to `count` bytes into `buffer`; 0 at end of stream.
    func read(into buffer: UnsafeMutableRawPointer, count: Int, deadline: Deadline) throws -> Int
    func close()
}

final class PlainTransport: HTTPTransport {
    let socket: TCPSocket
    let host: String

    init(socket: TCPSocket, host: String) {
        self.socket = socket
        self.host = host
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(socket.fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard try socket.wait(for: Int16(POLLOUT), deadline: deadline) else {
                    throw HTTPError.timeout(host: host, phase: "sending the request", seconds: deadline.seconds)
                }
                continue
            }
            throw HTTPError.connect(host: host, detail: "sending the request: \(FileSystem.errorString(errno))")
        }
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, deadline: Deadline) throws -> Int {
        while true {
            let n = recv(socket.fd, buffer, count, 0)
            if n >= 0 { return n }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                guard try socket.wait(for: Int16(POLLIN), deadline: deadline) else {
                    throw HTTPError.timeout(host: host, phase: "reading the response", seconds: deadline.seconds)
                }
                continue
            }
            throw HTTPError.connect(host: host, detail: "reading the response: \(FileSystem.errorString(errno))")
        }
    }

    func close() {}
}

final class TLSTransport: HTTPTransport {
    let connection: TLSConnection
    let host: String

    init(context: TLSContext, socket: TCPSocket, url: HTTPURL, trustOrigin: String, deadline: Deadline) throws {
        host = url.authority
        do {
            connection = try TLSConnection(context: context, socket: socket, serverName: url.isIPAddress ? nil : url.host)
        } catch {
            throw HTTPError.tls(host: host, detail: "\(error)")
        }
        do {
            try connection.expectPeerName(url.host, isIPAddress: url.isIPAddress)
        } catch let error as OpenSSLError {
            throw HTTPError.setup(error.description)
        }
        do {
            try connection.handshake(deadline: deadline)
        } catch let error as TLSError {
            if let failure = connection.verificationFailure {
                let why: String
                switch failure.kind {
                case .nameMismatch: why = "the certificate is not valid for \(url.host) (\(failure.text))"
                case .untrusted: why = "the certificate is not trusted by \(trustOrigin) (\(failure.text))"
                case .other: why = "certificate verification failed: \(failure.text)"
                }
                throw HTTPError.tls(host: host, detail: why)
            }
            switch error {
            case .timeout(_, let phase, let s): throw HTTPError.timeout(host: host, phase: phase, seconds: s)
            case .closed: throw HTTPError.tls(host: host, detail: "the server closed the connection during the handshake (not a TLS server?)")
            case .handshake(_, let d): throw HTTPError.tls(host: host, detail: d)
            default: throw HTTPError.tls(host: host, detail: error.description)
            }
        }
    }

    func write(_ bytes: [UInt8], deadline: Deadline) throws {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { connection.write(UnsafeRawBufferPointer(rebasing: $0[sent...])) }
            if case .transferred(let written) = result { sent += written; continue }
            try wait(result, phase: "sending the request", deadline: deadline)
        }
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, deadline: Deadline) throws -> Int {
        while true {
            let result = connection.read(into: buffer, count: count)
            switch result {
            case .transferred(let got): return got
            case .endOfStream: return 0
            default: try wait(result, phase: "reading the response", deadline: deadline)
            }
        }
    }

    private func wait(_ result: TLSConnection.Transfer, phase: String, deadline: Deadline) throws {
        switch result {
        case .wantRead, .wantWrite:
            var events = Int16(POLLOUT)
            if case .wantRead = result { events = Int16(POLLIN) }
            guard try connection.socket.wait(for: events, deadline: deadline) else {
                throw HTTPError.timeout(host: host, phase: phase, seconds: deadline.seconds)
            }
        case .systemError(let code):
            throw HTTPError.connect(host: host, detail: "\(phase): \(FileSystem.errorString(code))")
        case .failed(let reason):
            throw HTTPError.tls(host: host, detail: "\(phase): \(reason)")
        case .endOfStream:
            // A write that meets the server's close_notify (read returns end of stream itself).
            throw HTTPError.connect(host: host, detail: "\(phase): the server closed the connection")
        case .transferred:
            // Both callers consume progress before waiting; should one not, fail the request, do not crash.
            throw HTTPError.protocolError(host: host, detail: "\(phase): the transfer stalled")
        }
    }

    func close() { connection.close() }

    /// Nothing buffered and nothing (data or end of stream) waiting on the socket: an idle
    /// connection the server has not closed yet.
    var isQuiet: Bool {
        guard !connection.hasPendingBytes else { return false }
        var p = pollfd(fd: connection.socket.fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, 0) == 0
    }
}

/// Idle kept-alive TLS connections of one `HTTPClient`, shared by its threads: a connection is
/// taken out for one request and put back after its response was read to the end.
final class ConnectionPool: Sendable {
    private struct Idle {
        let key: String
        let transport: TLSTransport
        let since: Int64
    }
    private let idle = Locked<[Idle]>([])
    let capacity: Int
    let maximumAge: Double

    init(capacity: Int, maximumAge: Double) {
        self.capacity = capacity
        self.maximumAge = maximumAge
    }

    /// The newest idle connection for `key` that still looks open; drops expired ones.
    func take(_ key: String) -> TLSTransport? {
        let (found, expired) = idle.withValue { list -> (TLSTransport?, [TLSTransport]) in
            let expired = expire(&list, now: Deadline.now())
            guard let i = list.lastIndex(where: { $0.key == key }) else { return (nil, expired) }
            return (list.remove(at: i).transport, expired)
        }
        for t in expired { t.close() }
        guard let found else { return nil }
        guard found.isQuiet else { found.close(); return nil }
        return found
    }

    func put(_ transport: TLSTransport, key: String) {
        let now = Deadline.now()
        let evicted = idle.withValue { list -> [TLSTransport] in
            var evicted = expire(&list, now: now)
            list.append(Idle(key: key, transport: transport, since: now))
            if list.count > capacity { evicted.append(list.removeFirst().transport) }
            return evicted
        }
        for t in evicted { t.close() }
    }

    /// Removes and returns the connections idle longer than `maximumAge`.
    private func expire(_ list: inout [Idle], now: Int64) -> [TLSTransport] {
        let oldest = now - Int64(maximumAge * 1_000_000_000)
        let expired = list.filter { $0.since < oldest }.map(\.transport)
        list.removeAll { $0.since < oldest }
        return expired
    }

    /// How many connections are idle (for tests).
    var count: Int { idle.withValue { $0.count } }
}
