#if canImport(Glibc)
import Glibc
#endif

/// One connection of a challenge responder, driven by `ResponderLoop`: a small state machine
/// over a non-blocking socket. `step` does what it can without blocking and says what it waits
/// for next (POLLIN/POLLOUT), or nil when it is finished and the socket can be closed.
protocol ResponderConnection: AnyObject {
    var fd: Int32 { get }
    /// Monotonic seconds after which the connection is dropped (slow or silent peers).
    var deadline: Double { get }
    func step() -> Int16?
}

/// The thread and poll loop behind the challenge responders (HTTP-01, TLS-ALPN-01).
///
/// ACME servers may validate while the client's challenge POST is still in flight (RFC 8555
/// §7.5.1 allows it; acme2certifier does), so a responder must answer on its own thread, not in
/// the gaps between the client's polls. One `poll` covers the listeners, every open connection and
/// a wake-up pipe, so many validators are served at once and `stop()` returns promptly without
/// a timeout. Per-connection size and time limits stay with the connection.
final class ResponderLoop: @unchecked Sendable {
    /// At most this many connections at once; more wait in the listen backlog.
    static let maximumConnections = 64

    private let listeners: [Int32]
    private let accept: (Int32) -> ResponderConnection
    private var wakeRead: Int32 = -1, wakeWrite: Int32 = -1
    private var thread: WorkerThread?
    private var closed = false

    /// `accept` turns an accepted, non-blocking, close-on-exec socket into a connection. It runs
    /// on the loop's thread. The loop owns `listeners` and closes them in `close()`.
    init(listeners: [Int32], accept: @escaping (Int32) -> ResponderConnection) {
        self.listeners = listeners
        self.accept = accept
    }

    deinit { close() }

    /// Binds a responder's listening socket on `address` (an IPv4/IPv6 literal; "::" listens on
    /// both families where the system allows, else falls back to 0.0.0.0) and `port` (0 picks a
    /// free one). The hints finish the message when the port is privileged or taken.
    static func listen(address: String, port: UInt16, challenge: String) throws -> ([Int32], UInt16) {
        let candidates = address == "::" ? ["::", "0.0.0.0"] : [address]
        var lastError: ACMEError = .challengeServer("no address to listen on")
        for candidate in candidates {
            do {
                let (fd, bound) = try ListeningSocket.open(address: candidate, port: port, backlog: 64)
                return ([fd], bound)  // "::" with IPV6_V6ONLY off already covers IPv4
            } catch {
                let reason = FileSystem.errorString(error.errno)
                switch error.stage {
                case .socket: lastError = .challengeServer("socket: \(reason)")
                case .notAnAddress: throw ACMEError.challengeServer("\(candidate) is not an IP address")
                case .listen: lastError = .challengeServer("listen: \(reason)")
                case .bind:
                    lastError = .challengePort(challenge: challenge, endpoint: Endpoint.format(host: candidate, port: port), reason: reason, errno: error.errno)
                }
            }
        }
        throw lastError
    }

    var isRunning: Bool { thread != nil }

    /// Starts the loop on a thread of its own (no-op when it runs already).
    func start() throws {
        guard !closed else { throw ACMEError.challengeServer("the challenge responder is closed") }
        guard thread == nil else { return }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw ACMEError.challengeServer("pipe: \(FileSystem.errorString(errno))") }
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        }
        wakeRead = fds[0]; wakeWrite = fds[1]
        let wake = wakeRead
        thread = WorkerThread { [self] in run(wake: wake) }
    }

    /// Wakes the loop, waits for its thread to finish, and closes the open connections.
    func stop() {
        guard let t = thread else { return }
        var byte: UInt8 = 1
        while write(wakeWrite, &byte, 1) < 0 && errno == EINTR {}
        t.join()
        thread = nil
        Glibc.close(wakeRead); Glibc.close(wakeWrite)
        wakeRead = -1; wakeWrite = -1
    }

    /// Stops and closes the listening sockets; the loop cannot start again.
    func close() {
        guard !closed else { return }
        stop()
        closed = true
        for fd in listeners where fd >= 0 { Glibc.close(fd) }
    }

    private func run(wake: Int32) {
        var open: [(connection: ResponderConnection, events: Int16)] = []
        defer { for c in open { Glibc.close(c.connection.fd) } }
        while true {
            var pfds = [pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            if open.count < Self.maximumConnections {
                pfds += listeners.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            }
            pfds += open.map { pollfd(fd: $0.connection.fd, events: $0.events, revents: 0) }
            let now = Subprocess.monotonicSeconds()
            let nearest = open.map(\.connection.deadline).min().map { max(0, $0 - now) } ?? 1
            let n = poll(&pfds, nfds_t(pfds.count), Int32(min(nearest, 1) * 1000) + 1)
            if n < 0 && errno != EINTR { return }
            if pfds[0].revents != 0 { return }

            // Connections first (their indices follow the listeners when those were polled).
            let base = pfds.count - open.count
            var still: [(connection: ResponderConnection, events: Int16)] = []
            let after = Subprocess.monotonicSeconds()
            for (i, c) in open.enumerated() {
                let revents = pfds[base + i].revents
                var next: Int16? = c.events
                if revents != 0 { next = c.connection.step() }
                if next != nil, after > c.connection.deadline { next = nil }
                if let next { still.append((c.connection, next)) } else { Glibc.close(c.connection.fd) }
            }
            open = still
            for p in pfds[1..<base] where p.revents & Int16(POLLIN) != 0 {
                while open.count < Self.maximumConnections {
                    let client = Glibc.accept(p.fd, nil, nil)
                    if client < 0 { break }
                    _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL, 0) | O_NONBLOCK)
                    let connection = accept(client)
                    // A first step at once: the request is often already there.
                    if let events = connection.step() { open.append((connection, events)) } else { Glibc.close(client) }
                }
            }
        }
    }
}
