#if canImport(Glibc)
import Glibc
#endif

/// The built-in HTTP-01 responder of `certs request --standalone`.
///
/// It answers exactly `GET|HEAD /.well-known/acme-challenge/TOKEN` for the tokens it was given
/// (with the key authorization, `text/plain`) and 404 for everything else. After `start()` it
/// serves on a thread of its own (`ResponderLoop`), many connections at once, until `stop()`:
/// a CA may validate while the client's challenge POST is still in flight. Requests are read with
/// a size limit (8 KiB) and a per-connection deadline (5 s to read, 5 s to answer), so a slow or
/// hostile peer cannot hold it. Tokens and the log of answers are shared with the loop's thread
/// through `Locked`.
public final class ChallengeServer: @unchecked Sendable {
    public static let pathPrefix = "/.well-known/acme-challenge/"

    public let port: UInt16
    private let responses = Locked<[String: String]>([:])
    private let log = Locked<[String]>([])
    private let loop: ResponderLoop

    /// Requests answered, for logs and tests: "GET /.well-known/… 200".
    public var served: [String] { log.current }

    /// Binds `address` (an IPv4/IPv6 literal; "::" listens on both families where the system allows)
    /// on `port` (0 picks a free one). Nothing is answered before `start()`.
    public init(address: String = "::", port: UInt16 = 80) throws {
        let (listeners, bound) = try ResponderLoop.listen(address: address, port: port, challenge: "HTTP-01")
        self.port = bound
        let responses = self.responses, log = self.log
        loop = ResponderLoop(listeners: listeners) { fd in HTTPChallengeConnection(fd: fd, responses: responses, log: log) }
    }

    /// Starts answering on a thread of its own (no-op when it runs already).
    public func start() throws { try loop.start() }

    /// Stops answering: wakes the thread, joins it and closes its connections. `start()` may follow.
    public func stop() { loop.stop() }

    /// Stops and closes the listening sockets.
    public func close() { loop.close() }

    /// Adds a token's key authorization to what is served.
    public func add(token: String, keyAuthorization: String) { responses.withValue { $0[token] = keyAuthorization } }
    public func remove(token: String) { responses.withValue { $0[token] = nil } }
}

/// One HTTP-01 request and its answer, read and written without blocking.
final class HTTPChallengeConnection: ResponderConnection {
    let fd: Int32
    private(set) var deadline: Double
    private let responses: Locked<[String: String]>
    private let log: Locked<[String]>
    private var request: [UInt8] = []
    private var answer: [UInt8]? = nil
    private var sent = 0

    static let maximumRequest = 8192
    static let phaseSeconds = 5.0

    init(fd: Int32, responses: Locked<[String: String]>, log: Locked<[String]>) {
        self.fd = fd
        self.responses = responses
        self.log = log
        deadline = Subprocess.monotonicSeconds() + Self.phaseSeconds
    }

    func step() -> Int16? {
        if answer == nil {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while request.count < Self.maximumRequest, Self.headerEnd(request) == nil {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, Self.maximumRequest - request.count), 0) }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && errno == EAGAIN { return Int16(POLLIN) }
                if n <= 0 { break }  // end of stream or error: answer what we have
                request += buffer[0..<n]
            }
            if request.isEmpty { return nil }
            answer = respond()
            deadline = Subprocess.monotonicSeconds() + Self.phaseSeconds
        }
        guard let bytes = answer else { return nil }
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && errno == EAGAIN { return Int16(POLLOUT) }
            return nil
        }
        return nil
    }

    /// The answer to the request read so far, and its line in the log.
    func respond() -> [UInt8] {
        guard let end = Self.headerEnd(request) else { return Self.reply(status: "400 Bad Request", body: "bad request\n", head: false) }
        let line = String(decoding: request[..<end], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET" || parts[0] == "HEAD" else {
            log.withValue { $0.append("\(line) 405") }
            return Self.reply(status: "405 Method Not Allowed", body: "method not allowed\n", head: false)
        }
        let head = parts[0] == "HEAD"
        let path = String(parts[1])
        if path.hasPrefix(ChallengeServer.pathPrefix), let answer = responses.withValue({ $0[String(path.dropFirst(ChallengeServer.pathPrefix.count))] }) {
            log.withValue { $0.append("\(parts[0]) \(path) 200") }
            return Self.reply(status: "200 OK", body: answer, head: head)
        }
        log.withValue { $0.append("\(parts[0]) \(path) 404") }
        return Self.reply(status: "404 Not Found", body: "not found\n", head: head)
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
        return nil
    }

    static func reply(status: String, body: String, head: Bool) -> [UInt8] {
        Array(("HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\nServer: certs\r\n\r\n" + (head ? "" : body)).utf8)
    }
}
