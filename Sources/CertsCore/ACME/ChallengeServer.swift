#if canImport(Glibc)
import Glibc
#endif

/// The built-in HTTP-01 responder of `certs request --standalone`.
///
/// It answers exactly `GET|HEAD /.well-known/acme-challenge/TOKEN` for the tokens it was given
/// (with the key authorization, `text/plain`) and 404 for everything else. It is single-threaded:
/// the ACME client calls `serve(for:)` instead of sleeping between polls, so there is no second
/// thread and no shared mutable state. Requests are read with a size limit (8 KiB) and a
/// per-connection deadline, so a slow or hostile peer cannot hold it.
public final class ChallengeServer {
    public static let pathPrefix = "/.well-known/acme-challenge/"

    let listeners: [Int32]
    public let port: UInt16
    private var responses: [String: String] = [:]
    /// Requests answered, for logs and tests: "GET /.well-known/… 200".
    public private(set) var served: [String] = []

    /// Binds `address` (an IPv4/IPv6 literal; "::" listens on both families where the system allows)
    /// on `port` (0 picks a free one).
    public init(address: String = "::", port: UInt16 = 80) throws {
        var fds: [Int32] = []
        var boundPort = port
        let candidates = address == "::" ? ["::", "0.0.0.0"] : [address]
        var lastError = ""
        for candidate in candidates {
            do {
                let (fd, p) = try Self.listen(address: candidate, port: boundPort)
                fds.append(fd)
                boundPort = p
                break  // "::" with IPV6_V6ONLY off already covers IPv4
            } catch let e as ACMEError {
                lastError = e.description
            }
        }
        guard !fds.isEmpty else { throw ACMEError.challengeServer(lastError) }
        listeners = fds
        self.port = boundPort
    }

    deinit { close() }

    public func close() {
        for fd in listeners where fd >= 0 { Glibc.close(fd) }
    }

    /// Adds a token's key authorization to what is served.
    public func add(token: String, keyAuthorization: String) { responses[token] = keyAuthorization }
    public func remove(token: String) { responses[token] = nil }

    static func listen(address: String, port: UInt16) throws -> (Int32, UInt16) {
        let v6 = address.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw ACMEError.challengeServer("socket: \(FileSystem.errorString(errno))") }
        var one: Int32 = 1, zero: Int32 = 0
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &zero, socklen_t(MemoryLayout<Int32>.size))
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &addr.sin6_addr) == 1 else { Glibc.close(fd); throw ACMEError.challengeServer("\(address) is not an IP address") }
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else { Glibc.close(fd); throw ACMEError.challengeServer("\(address) is not an IP address") }
            rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0 else {
            let e = errno
            Glibc.close(fd)
            let hint = e == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE; or use --http-port behind a redirect)" : (e == EADDRINUSE ? " (is a web server running there? use --webroot instead)" : "")
            throw ACMEError.challengeServer("cannot listen on \(Endpoint.format(host: address, port: port)): \(FileSystem.errorString(e))\(hint)")
        }
        guard Glibc.listen(fd, 64) == 0 else {
            let e = errno
            Glibc.close(fd)
            throw ACMEError.challengeServer("listen: \(FileSystem.errorString(e))")
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let bound: UInt16 = withUnsafePointer(to: &storage) { p in
            v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
               : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, bound)
    }

    /// Accepts and answers requests for `seconds`, then returns.
    public func serve(for seconds: Double) {
        let end = Subprocess.monotonicSeconds() + seconds
        while true {
            let remaining = end - Subprocess.monotonicSeconds()
            if remaining <= 0 { return }
            var pfds = listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let n = poll(&pfds, nfds_t(pfds.count), Int32(max(remaining * 1000, 1)))
            if n <= 0 { continue }
            for p in pfds where p.revents & Int16(POLLIN) != 0 {
                while true {
                    let client = accept(p.fd, nil, nil)
                    if client < 0 { break }
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL, 0) | O_NONBLOCK)
                    handle(client)
                    Glibc.close(client)
                }
            }
        }
    }

    /// Reads one request (≤ 8 KiB, ≤ 5 s) and answers it.
    func handle(_ fd: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = Subprocess.monotonicSeconds() + 5
        while request.count < 8192 {
            if Self.headerEnd(request) != nil { break }
            let left = deadline - Subprocess.monotonicSeconds()
            if left <= 0 { return }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(left * 1000))
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { return }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { break }
            request += buffer[0..<n]
        }
        guard let end = Self.headerEnd(request) else { reply(fd, status: "400 Bad Request", body: "bad request\n", head: false); return }
        let line = String(decoding: request[..<end], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "GET" || parts[0] == "HEAD" else {
            reply(fd, status: "405 Method Not Allowed", body: "method not allowed\n", head: false)
            served.append("\(line) 405")
            return
        }
        let head = parts[0] == "HEAD"
        let path = String(parts[1])
        if path.hasPrefix(Self.pathPrefix), let answer = responses[String(path.dropFirst(Self.pathPrefix.count))] {
            reply(fd, status: "200 OK", body: answer, head: head)
            served.append("\(parts[0]) \(path) 200")
        } else {
            reply(fd, status: "404 Not Found", body: "not found\n", head: head)
            served.append("\(parts[0]) \(path) 404")
        }
    }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
        return nil
    }

    func reply(_ fd: Int32, status: String, body: String, head: Bool) {
        let text = "HTTP/1.1 \(status)\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\nServer: certs\r\n\r\n" + (head ? "" : body)
        let bytes = Array(text.utf8)
        var offset = 0
        let deadline = Subprocess.monotonicSeconds() + 5
        while offset < bytes.count && Subprocess.monotonicSeconds() < deadline {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 1000)
                continue
            }
            return
        }
    }
}
