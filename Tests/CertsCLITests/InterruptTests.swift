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
        let started = d.scratch.file("test-started")
        let running = try Running(deployArguments(d, test: "touch \(started); sleep 30"))
        #expect(Self.waitFor(started))
        // The new, untested config is in place while nginx -t runs.
        #expect(d.scratch.read("nginx/conf.d/example.com.conf").contains("ssl_protocols TLSv1.3;"))
        let begin = Date()
        running.signal(signal)
        let r = running.finish()
        #expect(r.status == status, "exit \(r.status): \(r.stdout)\n\(r.stderr)")
        #expect(Date().timeIntervalSince(begin) < 10, "waited for the whole sleep")
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
}
