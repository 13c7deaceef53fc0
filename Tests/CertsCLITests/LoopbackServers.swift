import Foundation
import Testing

/// Loopback ports and real server processes for end-to-end tests. Every server binds 127.0.0.1,
/// is started by the test and stopped by pid.
enum Loopback {
    /// A loopback port for a server that cannot bind port 0 itself (nginx, Pebble, postgres…).
    /// Picking a port the kernel just handed out (bind 0, close) races with every other port-0
    /// bind in the process: the kernel may give the same ephemeral port to the next socket before
    /// the server binds it. So ports come from a range below the ephemeral one
    /// (/proc/sys/net/ipv4/ip_local_port_range, 32768–60999 on Linux), each handed out at most once
    /// per process, and only when both TCP and UDP can bind it now (DNS servers use both).
    /// The start is random, so two test processes on one machine rarely meet.
    static func freePort() -> Int { ports.next() }
    private static let ports = PortAllocator(range: 20_000..<26_000)

    /// Waits until something accepts TCP connections on host:port (127.0.0.1 or ::1 style literals).
    static func waitForListener(_ port: Int, host: String = "127.0.0.1", timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if canConnect(host: host, port: port) { return true }
            usleep(50_000)
        }
        return false
    }

    static func canConnect(host: String, port: Int) -> Bool {
        if host.contains(":") {
            let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET6, host, &addr.sin6_addr)
            return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr(host)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// Whether this machine has an IPv6 loopback to test with.
    static var hasIPv6Loopback: Bool {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in6()
        addr.sin6_family = sa_family_t(AF_INET6)
        _ = inet_pton(AF_INET6, "::1", &addr.sin6_addr)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } } == 0
    }
}

/// A child process stopped (SIGTERM, then SIGKILL) when the value goes away.
final class ServerProcess {
    let process = Process()
    let log: String

    init(_ executable: String, _ arguments: [String], cwd: String? = nil, log: String) throws {
        self.log = log
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where process.isRunning { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A real nginx (Debian's) running a config rooted in a scratch directory, in the foreground.
final class NginxServer {
    let server: ServerProcess
    let directory: String

    /// `include` is a glob of http-level files (the emitted conf.d/*.conf).
    init(directory: String, include: String, waitFor port: Int) throws {
        self.directory = directory
        let conf = "\(directory)/nginx-main.conf"
        try NginxServer.mainConfig(directory: directory, include: include).write(toFile: conf, atomically: true, encoding: .utf8)
        server = try ServerProcess("/usr/sbin/nginx", ["-c", conf, "-p", directory, "-g", "daemon off;"], log: "\(directory)/nginx-stderr.log")
        guard Loopback.waitForListener(port) else {
            server.stop()
            let log = ((try? String(contentsOfFile: "\(directory)/nginx-error.log", encoding: .utf8)) ?? "")
                + ((try? String(contentsOfFile: "\(directory)/nginx-stderr.log", encoding: .utf8)) ?? "")
            throw NginxStartError(log: log)
        }
    }

    struct NginxStartError: Error, CustomStringConvertible { let log: String; var description: String { "nginx did not start: \(log)" } }

    static func mainConfig(directory: String, include: String) -> String {
        """
        pid \(directory)/nginx.pid;
        error_log \(directory)/nginx-error.log info;
        worker_processes 1;
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path \(directory)/tmp-body;
            proxy_temp_path \(directory)/tmp-proxy;
            fastcgi_temp_path \(directory)/tmp-fcgi;
            uwsgi_temp_path \(directory)/tmp-uwsgi;
            scgi_temp_path \(directory)/tmp-scgi;
            include \(include);
        }
        """
    }

    /// `nginx -t` on the same main config.
    static func test(directory: String, include: String) throws -> RunResult {
        let conf = "\(directory)/nginx-main.conf"
        try mainConfig(directory: directory, include: include).write(toFile: conf, atomically: true, encoding: .utf8)
        return try run("/usr/sbin/nginx", ["-t", "-c", conf, "-p", directory])
    }

    func stop() { server.stop() }
}

/// The version of the installed nginx ("1.22.1").
let installedNginxVersion: String = {
    let r = try? run("/usr/sbin/nginx", ["-v"])
    return r?.stderr.split(separator: "/").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "1.22.1"
}()

/// Hands out loopback ports from a fixed range, each once, checked free for TCP and UDP.
final class PortAllocator: @unchecked Sendable {
    private let range: Range<Int>
    private var offset: Int
    private let lock = NSLock()

    init(range: Range<Int>) {
        self.range = range
        offset = Int.random(in: 0..<range.count)
    }

    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        for _ in 0..<range.count {
            let port = range.lowerBound + offset % range.count
            offset += 1
            if Self.canBind(port, type: Int32(SOCK_STREAM.rawValue)) && Self.canBind(port, type: Int32(SOCK_DGRAM.rawValue)) { return port }
        }
        fatalError("no free loopback port left in \(range)")
    }

    static func canBind(_ port: Int, type: Int32) -> Bool {
        let fd = socket(AF_INET, type, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }
}
