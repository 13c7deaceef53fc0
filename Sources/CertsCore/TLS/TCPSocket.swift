#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why talking to a TLS server failed before there was anything to verify.
public enum TLSError: CertsFailure, Equatable {
    case resolve(host: String, reason: String)
    case connect(endpoint: String, reason: String)
    case timeout(endpoint: String, phase: String, seconds: Double)
    case closed(endpoint: String, phase: String)
    case handshake(endpoint: String, detail: String)
    case noCertificate(endpoint: String)
    /// The server answered in some other protocol where TLS was expected (`spoke` says which).
    case notTLS(endpoint: String, spoke: ServerSpeech, asked: Endpoint?)
    /// The plaintext dialogue before TLS (`smtp://`, `postgres://`…) did not reach TLS.
    case startTLS(endpoint: String, protocol: String, detail: String)
    case setup(String)

    public var kind: FailureKind {
        switch self {
        case .setup: return .internal
        default: return .remote
        }
    }

    public var description: String {
        switch self {
        case .resolve(let h, let r): return "cannot resolve \(h): \(r)"
        case .connect(let e, let r): return "cannot connect to \(e): \(r)"
        case .timeout(let e, let p, let s): return "\(e): no answer within \(Self.seconds(s)) during \(p)"
        case .closed(let e, let p): return "\(e) closed the connection during \(p) (not a TLS server?)"
        case .handshake(let e, let d): return "TLS handshake with \(e) failed: \(d)"
        case .noCertificate(let e): return "\(e) completed the handshake without sending a certificate"
        case .notTLS(let e, let spoke, let asked):
            var hint = ""
            if let scheme = spoke.scheme, let asked, asked.startTLS == nil {
                hint = " (for STARTTLS: \(scheme)://\(Endpoint.format(host: asked.host, port: asked.port)))"
            }
            return "TLS handshake with \(e) failed: the server answered with \(spoke.words), not TLS\(hint)"
        case .startTLS(let e, let p, let d): return "\(p) STARTTLS with \(e) failed: \(d)"
        case .setup(let d): return "cannot set up the TLS client: \(d)"
        }
    }

    static func seconds(_ s: Double) -> String {
        s == s.rounded() ? "\(Int(s)) s" : "\(s) s"
    }
}

/// A monotonic deadline, so a whole operation (resolve + connect + handshake) shares one timeout.
struct Deadline {
    let end: Int64  // nanoseconds, CLOCK_MONOTONIC
    let seconds: Double

    init(seconds: Double) {
        self.seconds = seconds
        end = Self.now() + Int64(seconds * 1_000_000_000)
    }

    static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    /// Milliseconds left (0 when past), for poll(2).
    var remainingMilliseconds: Int32 {
        let left = (end - Self.now()) / 1_000_000
        return left <= 0 ? 0 : Int32(min(left, Int64(Int32.max)))
    }
}

/// An owning wrapper over a connected, non-blocking TCP socket.
final class TCPSocket {
    let fd: Int32
    /// The peer as `address:port` (`[::1]:443` for IPv6).
    let peerAddress: String

    private init(fd: Int32, peerAddress: String) {
        self.fd = fd
        self.peerAddress = peerAddress
    }

    deinit { close(fd) }

    /// Resolves `endpoint` and connects to its addresses in turn until one answers, all within `deadline`.
    static func connect(to endpoint: Endpoint, deadline: Deadline) throws -> TCPSocket {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_NUMERICSERV | (endpoint.isIPAddress ? AI_NUMERICHOST : 0)
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(endpoint.host, String(endpoint.port), &hints, &list)
        guard rc == 0 else {
            let reason = rc == EAI_SYSTEM ? FileSystem.errorString(errno) : String(cString: gai_strerror(rc)).lowercased()
            throw TLSError.resolve(host: endpoint.host, reason: reason)
        }
        defer { freeaddrinfo(list) }

        var lastError: TLSError = .connect(endpoint: endpoint.description, reason: "no addresses")
        var entry = list
        while let ai = entry {
            entry = ai.pointee.ai_next
            let address = numericAddress(ai.pointee.ai_addr, ai.pointee.ai_addrlen) ?? endpoint.description
            do {
                return try connect(ai.pointee, address: address, deadline: deadline)
            } catch let error as TLSError {
                lastError = error
                if case .timeout = error { throw error }
            }
        }
        throw lastError
    }

    private static func connect(_ ai: addrinfo, address: String, deadline: Deadline) throws -> TCPSocket {
        #if canImport(Glibc)
        let type = ai.ai_socktype | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = ai.ai_socktype
        #endif
        let fd = socket(ai.ai_family, type, ai.ai_protocol)
        guard fd >= 0 else { throw TLSError.connect(endpoint: address, reason: FileSystem.errorString(errno)) }
        let sock = TCPSocket(fd: fd, peerAddress: address)  // closes fd on every error path
        // No Nagle: a TLS client's Finished and its first request are two small writes, and the
        // second would wait for the server's delayed ACK (40 ms on Linux) of the first.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), 1 /* TCP_NODELAY */, &one, socklen_t(MemoryLayout<Int32>.size))
        let flags = fcntl(fd, F_GETFL, 0)
        guard flags >= 0, fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw TLSError.connect(endpoint: address, reason: FileSystem.errorString(errno))
        }
        if Glibc.connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 { return sock }
        guard errno == EINPROGRESS || errno == EINTR else {
            throw TLSError.connect(endpoint: address, reason: FileSystem.errorString(errno))
        }
        guard try sock.wait(for: Int16(POLLOUT), deadline: deadline) else {
            throw TLSError.timeout(endpoint: address, phase: "connect", seconds: deadline.seconds)
        }
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) == 0 else {
            throw TLSError.connect(endpoint: address, reason: FileSystem.errorString(errno))
        }
        guard soError == 0 else { throw TLSError.connect(endpoint: address, reason: FileSystem.errorString(soError)) }
        return sock
    }

    /// Waits until the socket is ready for `events`; false on timeout.
    func wait(for events: Int16, deadline: Deadline) throws -> Bool {
        while true {
            var p = pollfd(fd: fd, events: events, revents: 0)
            let n = poll(&p, 1, deadline.remainingMilliseconds)
            if n > 0 { return true }
            if n == 0 { return false }
            if errno == EINTR { continue }
            throw TLSError.connect(endpoint: peerAddress, reason: FileSystem.errorString(errno))
        }
    }

    /// Writes all of `bytes` within `deadline` (the plaintext part of a STARTTLS dialogue).
    func send(_ bytes: [UInt8], deadline: Deadline, phase: String) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                guard try wait(for: Int16(POLLOUT), deadline: deadline) else {
                    throw TLSError.timeout(endpoint: peerAddress, phase: phase, seconds: deadline.seconds)
                }
                continue
            }
            if errno == EPIPE || errno == ECONNRESET { throw TLSError.closed(endpoint: peerAddress, phase: phase) }
            throw TLSError.connect(endpoint: peerAddress, reason: FileSystem.errorString(errno))
        }
    }

    /// Reads what is there (at most `max` bytes), waiting within `deadline`; empty at end of stream.
    func receive(max: Int, deadline: Deadline, phase: String) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n >= 0 { return Array(buffer.prefix(n)) }
            if errno == ECONNRESET { return [] }
            guard errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR else {
                throw TLSError.connect(endpoint: peerAddress, reason: FileSystem.errorString(errno))
            }
            guard try wait(for: Int16(POLLIN), deadline: deadline) else {
                throw TLSError.timeout(endpoint: peerAddress, phase: phase, seconds: deadline.seconds)
            }
        }
    }

    /// `192.0.2.1:443` / `[2001:db8::1]:443` for a socket address.
    static func numericAddress(_ addr: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> String? {
        guard let addr else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        guard getnameinfo(addr, length, &host, socklen_t(host.count), &service, socklen_t(service.count),
                          NI_NUMERICHOST | NI_NUMERICSERV) == 0 else { return nil }
        return Endpoint.format(host: String(cBuffer: host), port: UInt16(String(cBuffer: service)) ?? 0)
    }
}
