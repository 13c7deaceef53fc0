#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Why the exporter could not start.
public enum MetricsServerError: CertsFailure, Equatable {
    case listen(address: String, reason: String)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .listen(let a, let r): return "cannot listen on \(a): \(r)"
        }
    }
}

/// One check run's output, cached for the scrape interval: `ok` false when the run could not run
/// at all (its message is served with 500, so Prometheus marks the target down).
public struct ScrapeOutput: Sendable, Equatable {
    public let ok: Bool
    public let text: String
    public init(ok: Bool, text: String) {
        self.ok = ok
        self.text = text
    }
}

/// The result of the last check run, reused for `interval` seconds. A scrape never starts a run
/// while another is in flight: concurrent scrapes wait for that run and share its result
/// (the run lock is held for the run; whoever gets it next finds the cache fresh).
public final class CachedCheckRun: @unchecked Sendable {
    public let interval: Double
    private let produce: @Sendable () -> ScrapeOutput
    private let runLock = Lock()
    private let cache = Locked<(output: ScrapeOutput, at: Double)?>(nil)
    private let runCount = Locked(0)

    public init(interval: Double, produce: @escaping @Sendable () -> ScrapeOutput) {
        self.interval = interval
        self.produce = produce
    }

    /// Check runs so far.
    public var runs: Int { runCount.current }

    public func output() -> ScrapeOutput {
        if let fresh = fresh() { return fresh }
        return runLock.withLock {
            if let fresh = fresh() { return fresh }
            let started = Subprocess.monotonicSeconds()
            let out = produce()
            let n = runCount.withValue { n -> Int in n += 1; return n }
            let duration = Subprocess.monotonicSeconds() - started
            var text = out.text
            if out.ok {
                CheckPrometheus.family(&text, "certs_exporter_check_runs_total", "Check runs since the exporter started.", type: "counter", [([], String(n))])
                CheckPrometheus.family(&text, "certs_exporter_check_duration_seconds", "How long the last check run took.",
                                       [([], String(Double(Int(duration * 1000)) / 1000))])
            }
            let result = ScrapeOutput(ok: out.ok, text: text)
            cache.withValue { $0 = (result, Subprocess.monotonicSeconds()) }
            return result
        }
    }

    private func fresh() -> ScrapeOutput? {
        guard let c = cache.current, Subprocess.monotonicSeconds() - c.at < interval else { return nil }
        return c.output
    }
}

/// The HTTP listener of `certs check --listen`: `GET /metrics` (the cached check run) and `GET /`
/// (a short page), for Prometheus to scrape.
///
/// Threads: the caller's thread accepts; `workers` `WorkerThread`s answer. Accepted connections
/// travel to the workers through a pipe (one `Int32` per write, atomic below PIPE_BUF), so no
/// condition variable is needed. At most `maxConnections` are accepted and not yet answered; the
/// rest wait in the kernel's backlog. Each request is read within `requestSeconds` and
/// `maxRequestBytes` (a slow or hostile client holds one worker for that long at most), and each
/// answer written within `writeSeconds`. `stop()` (async-signal-safe, used for SIGTERM/SIGINT)
/// wakes the accept loop through a second pipe; `run()` then joins the workers and returns.
public final class MetricsServer: @unchecked Sendable {
    public struct Limits: Sendable {
        public var workers = 8
        public var maxConnections = 128
        public var maxRequestBytes = 8192
        public var requestSeconds = 5.0
        public var writeSeconds = 10.0
        public init() {}
    }

    /// The bound address, `127.0.0.1:9793` / `[::1]:9793` (the real port when 0 was asked for).
    public let address: String
    public let limits: Limits
    private let listener: Int32
    private let wake: (read: Int32, write: Int32)
    private let queue: (read: Int32, write: Int32)
    private let inFlight = Locked(0)
    private let ran = Locked(false)
    private let cache: CachedCheckRun

    /// Binds `host` (an IPv4 or IPv6 literal) on `port`.
    public init(host: String, port: UInt16, cache: CachedCheckRun, limits: Limits = Limits()) throws {
        self.limits = limits
        self.cache = cache
        let (fd, bound) = try Self.listen(host: host, port: port)
        listener = fd
        address = Endpoint.format(host: host, port: bound)
        wake = try Self.pipePair(host: host, port: port)
        queue = try Self.pipePair(host: host, port: port)
        // The workers block in read(2) on the queue; the accept side never blocks on it.
        _ = fcntl(queue.write, F_SETFL, fcntl(queue.write, F_GETFL, 0) | O_NONBLOCK)
        _ = fcntl(wake.write, F_SETFL, fcntl(wake.write, F_GETFL, 0) | O_NONBLOCK)
    }

    deinit {
        for fd in [listener, wake.read, wake.write, queue.read] { close(fd) }
        if !ran.current { close(queue.write) }  // run() closes it when it stops
    }

    // MARK: Stopping (signal handlers)

    private static let signalWakeFD = Atomic<Int32>(-1)

    /// Makes `wakeFromSignal()` stop this server. Call before installing the signal handler.
    public func stopOnSignal() { Self.signalWakeFD.store(wake.write, ordering: .sequentiallyConsistent) }

    /// Async-signal-safe: an atomic load and a write(2).
    public static func wakeFromSignal() {
        let fd = signalWakeFD.load(ordering: .sequentiallyConsistent)
        guard fd >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    /// Makes `run()` return once the requests being answered are done.
    public func stop() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    // MARK: Serving

    /// Serves until `stop()` (once: a second call returns at once).
    public func run() {
        guard !ran.withValue({ r -> Bool in defer { r = true }; return r }) else { return }
        let queueRead = queue.read
        let workers = (0..<max(1, limits.workers)).map { _ in
            WorkerThread { [self] in
                var fd: Int32 = -1
                while read(queueRead, &fd, MemoryLayout<Int32>.size) == MemoryLayout<Int32>.size {
                    handle(fd)
                    close(fd)
                    inFlight.withValue { $0 -= 1 }
                }
            }
        }
        acceptLoop()
        close(queue.write)  // the workers read EOF once the queue is drained
        for w in workers { w.join() }
    }

    private func acceptLoop() {
        while true {
            var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            // At capacity, only the wake pipe is watched (50 ms at a time, to see slots free up).
            let full = inFlight.current >= limits.maxConnections
            let n = poll(&fds, full ? 1 : 2, full ? 50 : -1)
            if n < 0 && errno != EINTR { return }
            if fds[0].revents != 0 { return }
            guard !full, fds[1].revents & Int16(POLLIN) != 0 else { continue }
            while inFlight.current < limits.maxConnections {
                let client = accept(listener, nil, nil)
                if client < 0 { break }
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL, 0) | O_NONBLOCK)
                inFlight.withValue { $0 += 1 }
                var fd = client
                if write(queue.write, &fd, MemoryLayout<Int32>.size) != MemoryLayout<Int32>.size {
                    // The queue pipe is full (never at these limits): answer nothing rather than block.
                    close(client)
                    inFlight.withValue { $0 -= 1 }
                }
            }
        }
    }

    /// Reads one request head within the limits and answers it; the connection is closed after.
    func handle(_ fd: Int32) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let deadline = Subprocess.monotonicSeconds() + limits.requestSeconds
        while Self.headerEnd(request) == nil {
            if request.count >= limits.maxRequestBytes {
                reply(fd, status: "431 Request Header Fields Too Large", type: "text/plain", body: "request too large\n", head: false)
                return
            }
            let left = deadline - Subprocess.monotonicSeconds()
            if left <= 0 {
                reply(fd, status: "408 Request Timeout", type: "text/plain", body: "request not received in time\n", head: false)
                return
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(max(1, left * 1000)))
            if r < 0 && errno == EINTR { continue }
            if r <= 0 { continue }
            let want = min(buffer.count, limits.maxRequestBytes - request.count)
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, want, 0) }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if n <= 0 { return }
            request += buffer[0..<n]
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/") else {
            reply(fd, status: "400 Bad Request", type: "text/plain", body: "bad request\n", head: false)
            return
        }
        guard parts[0] == "GET" || parts[0] == "HEAD" else {
            reply(fd, status: "405 Method Not Allowed", type: "text/plain", body: "method not allowed\n", head: false)
            return
        }
        let head = parts[0] == "HEAD"
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        switch path {
        case "/metrics":
            let out = cache.output()
            reply(fd, status: out.ok ? "200 OK" : "500 Internal Server Error",
                  type: out.ok ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8", body: out.text, head: head)
        case "/":
            let page = "<!DOCTYPE html>\n<html><head><title>certs exporter</title></head><body>\n<h1>certs exporter</h1>\n" +
                "<p><a href=\"/metrics\">/metrics</a>: certs check as Prometheus metrics, checked at most every \(Self.seconds(cache.interval)).</p>\n" +
                "</body></html>\n"
            reply(fd, status: "200 OK", type: "text/html; charset=utf-8", body: page, head: head)
        default:
            reply(fd, status: "404 Not Found", type: "text/plain", body: "not found: try /metrics\n", head: head)
        }
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? "\(Int(s)) s" : "\(s) s" }

    static func headerEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 { return i }
        return nil
    }

    func reply(_ fd: Int32, status: String, type: String, body: String, head: Bool) {
        let bytes = Array("HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\nServer: certs\r\n\r\n".utf8)
            + (head ? [] : Array(body.utf8))
        var offset = 0
        let deadline = Subprocess.monotonicSeconds() + limits.writeSeconds
        while offset < bytes.count {
            let left = deadline - Subprocess.monotonicSeconds()
            if left <= 0 { return }
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, Int32(max(1, min(left, 1) * 1000)))
                continue
            }
            return
        }
        // Half-close, then let the client read what it was sent before the socket goes.
        shutdown(fd, Int32(SHUT_WR))
    }

    // MARK: Setup

    static func pipePair(host: String, port: UInt16) throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else {
            throw MetricsServerError.listen(address: Endpoint.format(host: host, port: port), reason: "pipe: \(FileSystem.errorString(errno))")
        }
        return (fds[0], fds[1])
    }

    static func listen(host: String, port: UInt16) throws -> (Int32, UInt16) {
        let shown = Endpoint.format(host: host, port: port)
        do {
            return try ListeningSocket.open(address: host, port: port, backlog: 256)
        } catch {
            let reason = FileSystem.errorString(error.errno)
            switch error.stage {
            case .socket: throw MetricsServerError.listen(address: shown, reason: "socket: \(reason)")
            case .notAnAddress: throw MetricsServerError.listen(address: shown, reason: "\(host) is not an IP address")
            case .listen: throw MetricsServerError.listen(address: shown, reason: "listen: \(reason)")
            case .bind:
                let e = error.errno
                let hint = e == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : (e == EADDRINUSE ? " (another process listens there)" : "")
                throw MetricsServerError.listen(address: shown, reason: reason + hint)
            }
        }
    }
}
