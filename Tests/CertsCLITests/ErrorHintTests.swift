import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Core errors name no flags; the CLI adds hints naming only options the running command has
/// (Sources/certs/ErrorHints.swift). A hint for a flag the command lacks cannot be followed.
@Suite struct ErrorHintTests {
    /// The long options `certs <command> --help` lists.
    static func options(_ command: [String]) throws -> Set<String> {
        let help = try certs(command + ["--help"]).stdout
        return Set(flags(in: help))
    }

    /// Every `--word` in a text.
    static func flags(in text: String) -> [String] {
        var out: [String] = [], i = text.startIndex
        while let r = text[i...].firstRange(of: "--") {
            let word = text[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if let first = word.first, first.isLetter { out.append("--" + word) }
            i = r.upperBound
        }
        return out
    }

    /// A loopback TCP listener on port 0 that never accepts: the kernel completes the TCP
    /// handshake, and a TLS client then waits for a ServerHello that never comes.
    final class SilentListener {
        let fd: Int32
        let port: Int
        init() throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = 0
            var len = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &addr) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) == 0 && listen(s, 8) == 0 && getsockname(s, $0, &len) == 0 }
            }
            guard bound else { close(s); throw POSIXError(.EADDRNOTAVAIL) }
            fd = s
            port = Int(UInt16(bigEndian: addr.sin_port))
        }
        deinit { close(fd) }
    }

    /// `deploy` has no --timeout: its probe timing out must not tell the user to use one.
    @Test func deployWhoseProbeTimesOutNamesNoFlagDeployLacks() throws {
        let s = Scratch()
        let listener = try SilentListener()
        let store = s.file("store")
        #expect(try certs("ca", "init", "--store", store).status == 0)
        #expect(try certs("ca", "issue", "--store", store, "slow.example").status == 0)
        try FileManager.default.createDirectory(atPath: s.file("www"), withIntermediateDirectories: true)
        let stack = s.write("stack.yaml", """
            domains:
              - name: slow.example
                routes:
                  - { path: /, service: backend, port: 9 }
            services:
              backend: { build: ./backend, host: 127.0.0.1, tls: plain }
            nginx: { certificates: \(store), webroot: \(s.file("www")), http_port: 9, https_port: \(listener.port) }
            """)
        let r = try certs(["deploy", "--stack", stack, "--out", s.file("nginx"), "--store", store, "--nginx-version", "1.22.1",
                           "--test-command", "true", "--reload-command", "true", "--trust", "\(store)/ca/root.pem"])
        #expect(r.status != 0, "\(r.stdout)\n\(r.stderr)")
        let output = r.stdout + r.stderr
        #expect(output.contains("no answer within"), "\(output)")
        let offered = try Self.options(["deploy"])
        for flag in Self.flags(in: output) {
            #expect(offered.contains(flag), "deploy's output names \(flag), which deploy does not have: \(output)")
        }
        #expect(!output.contains("--timeout"), "\(output)")
    }

    /// The same core error (a CA directory that exists) gets the --force hint only where --force exists.
    @Test func anExistingCAPointsAtForce() throws {
        let s = Scratch()
        #expect(try certs("ca", "init", "--store", s.file("store")).status == 0)
        let again = try certs("ca", "init", "--store", s.file("store"))
        expectOneLineError(again, exit: 3, mentioning: "already exists")
        #expect(again.stderr.contains("use --force") == (try Self.options(["ca", "init"]).contains("--force")), "\(again.stderr)")
    }

    /// check's bad usage is UNKNOWN (exit 3, the monitoring convention), with a did-you-mean.
    @Test func aMistypedCheckOptionGetsADidYouMean() throws {
        let r = try certs("check", "--endpiont", "127.0.0.1:1")
        #expect(r.status == 3 && r.stderr.contains("unknown option '--endpiont'; did you mean --endpoint?"), "\(r.stderr)")
        let typo = try certs("check", "--ari", "--warn=30", "--crti=7", "x.pem")
        #expect(typo.status == 3 && typo.stderr.contains("did you mean --crit?"), "\(typo.stderr)")
        let far = try certs("check", "--zzzzzzzz", "x")
        #expect(far.status == 3, "\(far.stderr)")
        #expect(!far.stderr.contains("did you mean"), "\(far.stderr)")
        // Elsewhere ArgumentParser finds the unknown option: a usage error (exit 2), with its own guess, once.
        let other = try certs("key", "new", "--out", "/nonexistent/k.pem", "--key-tpye", "ec-p256")
        expectOneLineError(other, exit: 2, mentioning: "Did you mean '--key-type'?")
        #expect(other.stderr.lowercased().components(separatedBy: "did you mean").count == 2, "\(other.stderr)")
    }
}
