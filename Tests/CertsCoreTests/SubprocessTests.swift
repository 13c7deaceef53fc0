import Foundation
import Testing
@testable import CertsCore

/// `Subprocess` runs hooks, `nginx -t` and reload commands: a timeout must stop everything the
/// command started, not only the shell.
@Suite struct SubprocessTests {
    /// Alive means running or sleeping; a zombie (killed, waiting for init to reap it) or no
    /// process at all is gone.
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    static func waitGone(_ pid: Int32, seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            usleep(20_000)
        }
        return !isAlive(pid)
    }

    @Test func aTimedOutCommandIsKilledWithTheGrandchildrenItStarted() throws {
        let scratch = CoreScratch()
        let pidFile = scratch.file("grandchild.pid")
        let started = Date()
        let result = try Subprocess.shell("sleep 100 & echo $! > '\(pidFile)'; sleep 100", timeout: 1)
        #expect(result.timedOut)
        #expect(!result.succeeded)
        #expect(Date().timeIntervalSince(started) < 10)
        let text = scratch.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)
        let grandchild = try #require(Int32(text), "the command wrote its background pid")
        #expect(Self.waitGone(grandchild), "the background sleep \(grandchild) outlived the timeout")
    }

    @Test func aBackgroundChildHoldingTheOutputOpenIsStoppedAtTheTimeout() throws {
        // The shell exits at once; its background child keeps the output pipe open.
        let scratch = CoreScratch()
        let pidFile = scratch.file("bg.pid")
        let result = try Subprocess.shell("sleep 100 & echo $! > '\(pidFile)'; echo started", timeout: 1)
        #expect(result.output.contains("started"))
        let text = scratch.read(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)
        let child = try #require(Int32(text))
        #expect(Self.waitGone(child), "the background sleep \(child) outlived the timeout")
    }

    @Test func theCommandLeadsItsOwnProcessGroup() throws {
        // Field 5 of /proc/PID/stat is the process group: the shell's is its own pid, not certs'.
        let result = try Subprocess.shell("echo $$ $(cut -d' ' -f5 /proc/$$/stat)", timeout: 10)
        #expect(result.succeeded)
        let fields = result.output.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        #expect(fields.count == 2)
        #expect(fields.first == fields.last, "pid and process group: \(fields)")
        #expect(Int32(fields.last ?? "") != getpgrp())
    }

    @Test func aChildStartsWithNoSignalBlockedAndSIGPIPEAtItsDefault() throws {
        // Spawned from a thread that blocks SIGTERM and with SIGPIPE ignored in certs, the child
        // still has an empty mask (SigBlk) and nothing ignored among SIGINT/SIGTERM/SIGPIPE (SigIgn
        // bits 2, 15, 13): otherwise a forwarded interrupt never stops a hook.
        let previous = signal(SIGPIPE, SIG_IGN)
        defer { signal(SIGPIPE, previous) }
        let box = Locked<Result<Subprocess.Result, Error>?>(nil)
        let worker = WorkerThread {
            var block = sigset_t()
            sigemptyset(&block)
            sigaddset(&block, SIGTERM)
            pthread_sigmask(SIG_BLOCK, &block, nil)
            let result = Result<Subprocess.Result, Error>(catching: { try Subprocess.shell("grep -E '^Sig(Blk|Ign):' /proc/self/status", timeout: 10) })
            box.withValue { $0 = result }
        }
        worker.join()
        let result = try #require(box.current).get()
        #expect(result.succeeded)
        var masks: [String: UInt64] = [:]
        for line in result.output.split(separator: "\n") {
            let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { masks[parts[0]] = UInt64(parts[1], radix: 16) }
        }
        #expect(masks["SigBlk"] == 0, "blocked in the child: \(result.output)")
        let watched: UInt64 = (1 << (UInt64(SIGINT) - 1)) | (1 << (UInt64(SIGTERM) - 1)) | (1 << (UInt64(SIGPIPE) - 1))
        #expect((masks["SigIgn"] ?? watched) & watched == 0, "ignored in the child: \(result.output)")
    }

    @Test func aQuickCommandStillReportsItsOutputAndStatus() throws {
        let result = try Subprocess.shell("echo out; echo err >&2; exit 3", timeout: 10)
        #expect(result.status == 3)
        #expect(!result.timedOut)
        #expect(result.output.contains("out") && result.output.contains("err"))
    }
}
