#if canImport(Glibc)
import Glibc
#endif

/// Runs a configured command (reload, `nginx -t`, hooks) through `/bin/sh -c`, with a time
/// limit, collecting its combined output. Commands come from the user's configuration, never
/// from certificate or network data.
public enum Subprocess {
    public struct Result: Sendable {
        public let status: Int32
        public let output: String
        public let timedOut: Bool
        public var succeeded: Bool { status == 0 && !timedOut }
        /// Why it failed, in one line: the last lines of output, or the exit status.
        public var failureDetail: String {
            if timedOut { return "timed out" }
            let t = tail
            return t.isEmpty ? "exit status \(status)" : "\(t) (exit status \(status))"
        }

        /// The last few lines, for a one-line error.
        public var tail: String {
            let lines = output.split(separator: "\n").map(String.init).filter { !$0.trimmingSpaces.isEmpty }
            return lines.suffix(2).joined(separator: " | ")
        }
    }

    /// Runs `command` with extra environment variables; kills it after `timeout` seconds.
    public static func shell(_ command: String, environment: [String: String] = [:], timeout: Double = 60) throws -> Result {
        try run(["/bin/sh", "-c", command], environment: environment, timeout: timeout)
    }

    public static func run(_ argv: [String], environment: [String: String] = [:], timeout: Double = 60) throws -> Result {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SubprocessError.spawn(argv.joined(separator: " "), FileSystem.errorString(errno)) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])

        var env: [String] = []
        var i = 0
        while let entry = environ[i] {
            let s = String(cString: entry)
            let name = s.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            if environment[name] == nil { env.append(s) }
            i += 1
        }
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { env.append("\(k)=\(v)") }

        // The child gets its own process group: a timeout or an interrupt (forwarded by
        // `Interruption`) then reaches the shell and everything it started, not the shell alone.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // A child starts with no signal blocked and SIGINT/SIGTERM/SIGPIPE at their defaults,
        // whatever the spawning thread had (a worker thread's mask, an ignored SIGPIPE): a hook
        // or nginx must stop on the signal `Interruption` forwards, and see EPIPE as programs expect.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        // A signal that arrived before this child (a rollback's reload) does not stop it; decided
        // before the spawn, so that one the child itself causes (a hook signalling certs) counts.
        let signalledBefore = Interruption.signal != nil
        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SubprocessError.spawn(argv.joined(separator: " "), FileSystem.errorString(rc))
        }

        Interruption.running(child: pid)
        defer { Interruption.running(child: 0) }
        // One that arrived between the spawn and the line above was not forwarded by the handler.
        if !signalledBefore, let signal = Interruption.signal { kill(-pid, signal) }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = monotonicSeconds() + timeout
        var timedOut = false
        var interruptedAt: Double?
        var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
        while true {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 { timedOut = true; kill(-pid, SIGKILL); break }
            // Interrupted: the child had the signal; one that ignores it gets 5 seconds.
            if let interruptedAt, monotonicSeconds() - interruptedAt > 5 { kill(-pid, SIGKILL); break }
            if interruptedAt == nil, !signalledBefore, Interruption.signal != nil { interruptedAt = monotonicSeconds() }
            let ready = poll(&pfd, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            if output.count < 1 << 20 { output += buffer[0..<n] }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: exitCode, output: String(decoding: output, as: UTF8.self), timedOut: timedOut)
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

public enum SubprocessError: CertsFailure, Equatable {
    case spawn(String, String)
    public var kind: FailureKind { .internal }
    public var description: String {
        switch self {
        case .spawn(let c, let r): return "cannot run \(c): \(r)"
        }
    }
}

/// Sleeps for `seconds` (fractional).
public func pause(_ seconds: Double) {
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
