import Foundation
import Testing

/// SIGINT/SIGTERM in the middle of a change: the previous state comes back, stderr says so, and
/// the exit status is 128 + the signal (130, 143), as a shell reports it.
@Suite(.serialized) struct InterruptTests {
    /// A started `certs` process whose output is collected; `signal` sends it one signal.
    final class Running {
        let process = Process()
        let out = Pipe(), err = Pipe()
        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            process.executableURL = URL(fileURLWithPath: certsBinary)
            process.arguments = arguments
            var env = ProcessInfo.processInfo.environment
            env["CERTS_RANDOM_DELAY"] = "0"
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

        /// Waits for the exit (at most `timeout` seconds) and returns what it printed.
        func finish(timeout: Double = 20) -> RunResult {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            return RunResult(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
    }

    /// Waits until `path` exists (the test command writes it when it starts).
    static func waitFor(_ path: String, timeout: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !FileManager.default.fileExists(atPath: path) && Date() < deadline { usleep(20_000) }
        return FileManager.default.fileExists(atPath: path)
    }

    func deployArguments(_ d: EmitNginxTests.Deployment, test: String, reload: String = "true") -> [String] {
        ["deploy", "--stack", d.stack, "--out", d.out, "--store", d.store, "--trust", "\(d.store)/ca/root.pem",
         "--test-command", test, "--reload-command", reload, "--no-probe"]
    }

    @Test(arguments: [(SIGINT, Int32(130), "SIGINT"), (SIGTERM, Int32(143), "SIGTERM")])
    func aSignalDuringNginxTestRestoresThePreviousConfig(signal: Int32, status: Int32, name: String) throws {
        let d = try EmitNginxTests.Deployment()
        let first = try certs(deployArguments(d, test: "true"))
        #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let previous = d.scratch.read("nginx/conf.d/example.com.conf")
        #expect(previous.contains("TLSv1.2 TLSv1.3"))
        // The next deploy changes the files, then its `nginx -t` hangs until interrupted.
        try String(d.scratch.read("stack.yaml").replacingOccurrences(of: "tls: { profile: intermediate }", with: "tls: { profile: modern }"))
            .write(toFile: d.stack, atomically: true, encoding: .utf8)
        let started = d.scratch.file("test-started"), slept = d.scratch.file("test-slept")
        // The test command records whether its sleep ran to the end: an event, not a wall-clock
        // bound (which a loaded machine can miss).
        let running = try Running(deployArguments(d, test: "touch \(started); sleep 30; touch \(slept)"))
        #expect(Self.waitFor(started, timeout: 120))
        // The new, untested config is in place while nginx -t runs.
        #expect(d.scratch.read("nginx/conf.d/example.com.conf").contains("ssl_protocols TLSv1.3;"))
        running.signal(signal)
        let r = running.finish(timeout: 120)
        #expect(r.status == status, "exit \(r.status): \(r.stdout)\n\(r.stderr)")
        #expect(!d.scratch.exists("test-slept"), "the test command was not stopped: deploy waited for its whole sleep")
        #expect(r.stderr.contains("interrupted by \(name)"), "\(r.stderr)")
        #expect(r.stderr.contains("restored the nginx config"), "\(r.stderr)")
        #expect(r.stdout.contains("ok   rollback"), "\(r.stdout)")
        #expect(d.scratch.read("nginx/conf.d/example.com.conf") == previous)
        #expect(!d.scratch.listing("nginx/conf.d").contains { $0.hasPrefix(".") }, "temp files left: \(d.scratch.listing("nginx/conf.d"))")
    }

    @Test func aSignalDuringTheFirstDeployRemovesTheNewFiles() throws {
        let d = try EmitNginxTests.Deployment()
        let started = d.scratch.file("test-started")
        let running = try Running(deployArguments(d, test: "touch \(started); sleep 30"))
        #expect(Self.waitFor(started))
        #expect(d.scratch.exists("nginx/conf.d/example.com.conf"))
        running.signal(SIGINT)
        let r = running.finish()
        #expect(r.status == 130, "\(r.stdout)\n\(r.stderr)")
        #expect(d.scratch.listing("nginx/conf.d").isEmpty, "\(d.scratch.listing("nginx/conf.d"))")
    }

    @Test func aSignalDuringTheReloadRestoresAndReloadsTheRestoredConfig() throws {
        let d = try EmitNginxTests.Deployment()
        #expect(try certs(deployArguments(d, test: "true")).status == 0)
        let previous = d.scratch.read("nginx/conf.d/example.com.conf")
        try String(d.scratch.read("stack.yaml").replacingOccurrences(of: "tls: { profile: intermediate }", with: "tls: { profile: modern }"))
            .write(toFile: d.stack, atomically: true, encoding: .utf8)
        let started = d.scratch.file("reload-started"), reloads = d.scratch.file("reloads")
        // The first reload hangs; the rollback's reload (a second run) records that it ran.
        let reload = "if [ -e \(started) ]; then echo again >> \(reloads); else touch \(started); sleep 30; fi"
        let running = try Running(deployArguments(d, test: "true", reload: reload))
        #expect(Self.waitFor(started))
        running.signal(SIGTERM)
        let r = running.finish()
        #expect(r.status == 143, "\(r.stdout)\n\(r.stderr)")
        #expect(d.scratch.read("nginx/conf.d/example.com.conf") == previous)
        #expect(d.scratch.read("reloads") == "again\n", "the restored config was not reloaded: \(r.stdout)")
    }

    /// `certs renew` renews, then its deploy hook is interrupted (the hook signals certs itself, so
    /// the signal lands exactly while the new certificates are live and not yet confirmed): the
    /// previous live/ files come back byte for byte.
    @Test(arguments: [(SIGINT, Int32(130), "SIGINT", "INT"), (SIGTERM, Int32(143), "SIGTERM", "TERM")])
    func aSignalDuringTheDeployHookPutsThePreviousCertificatesBack(signal: Int32, status: Int32, name: String, kill: String) throws {
        let t = HopCommandTests.Tree()
        #expect(try certs("ca", "hop", "--stack", t.stack, "--store", t.store).status == 0)
        let files = ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"].flatMap { ["store/live/hop-ai/\($0)", "store/live/hop-client/\($0)"] }
        let before = files.map { t.s.read($0) }
        let hook = "kill -\(kill) $PPID; sleep 30; touch \(t.s.file("hook-slept"))"
        let running = try Running(["renew", "--all", "--force", "--store", t.store, "--deploy-hook", hook])
        let r = running.finish(timeout: 120)
        #expect(r.status == status, "exit \(r.status): \(r.stdout)\n\(r.stderr)")
        #expect(r.stdout.contains("hop-ai: renewed"), "the renewal did not happen first: \(r.stdout)")
        #expect(r.stderr.contains("interrupted by \(name): restored the renewed certificates in \(t.store)/live"), "\(r.stderr)")
        #expect(!t.s.exists("hook-slept"), "the hook was not stopped")
        for (file, old) in zip(files, before) { #expect(t.s.read(file) == old, "\(file) is not the previous version") }
        // The store still works: the next run renews from the restored state.
        let again = try certs("renew", "--all", "--force", "--store", t.store)
        #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
        #expect(t.s.read("store/live/hop-ai/cert.pem") != before[0])
    }

    /// `certs install` is stopped right after `live/shop` moved to the new version and before it
    /// reported: stderr is a pipe the test filled beforehand, so install's first stderr line
    /// (--verbose, written in that window) blocks until the signal has been sent.
    @Test func aSignalWhileInstallSwapsInTheNewVersionPointsLiveBackAtThePreviousOne() throws {
        let s = Scratch()
        let first = try BoughtCertificate.make(s)
        let store = s.file("store"), live = s.file("store/live/shop")
        let one = try certs("install", "shop", "--store", store, "--cert", first.leaf, "--chain", first.intermediate, "--key", first.key)
        #expect(one.status == 0, "\(one.stderr)")
        let before = ["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"].map { s.read("store/live/shop/\($0)") }
        let second = try BoughtCertificate.make(Scratch())

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let flags = fcntl(fds[1], F_GETFL)
        _ = fcntl(fds[1], F_SETFL, flags | O_NONBLOCK)
        let chunk = [UInt8](repeating: 0x2E, count: 4096)
        var filled = 0
        while true {
            let n = chunk.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            filled += n
        }
        _ = fcntl(fds[1], F_SETFL, flags)  // the child shares this file description: blocking again

        let process = Process()
        process.executableURL = URL(fileURLWithPath: certsBinary)
        process.arguments = ["install", "shop", "--store", store, "--cert", second.leaf, "--chain", second.intermediate, "--key", second.key, "--verbose"]
        process.standardError = FileHandle(fileDescriptor: fds[1], closeOnDealloc: false)
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        close(fds[1])
        let deadline = Date().addingTimeInterval(120)
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: live)) != "../archive/shop/0002", process.isRunning, Date() < deadline {
            usleep(10_000)
        }
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: live) == "../archive/shop/0002", "the new version never went live")
        kill(process.processIdentifier, SIGINT)
        var stderr: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fds[0], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            stderr += buffer[0..<n]
        }
        close(fds[0])
        process.waitUntilExit()
        let text = String(decoding: stderr.dropFirst(filled), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(text)")
        #expect(text.contains("interrupted by SIGINT: restored \(live) as it was before"), "\(text)")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: live) == "../archive/shop/0001")
        #expect(["cert.pem", "chain.pem", "fullchain.pem", "privkey.pem"].map { s.read("store/live/shop/\($0)") } == before)
    }
}
