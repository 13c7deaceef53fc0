import Foundation
import Testing

/// A server process that binds port 0 and prints the port on its first stdout line; killed by pid.
final class PortPrintingServer {
    let process = Process()
    let port: Int

    /// Starts the server and reads lines from its stdout (and stderr too when `mergeStderr`) until
    /// `port` finds the bound port in one; by default the line is the port alone.
    init(_ executable: String, _ arguments: [String], timeout: Double = 15, mergeStderr: Bool = false,
         port parse: (String) -> Int? = { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) throws {
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = out
        let errors = Pipe()
        process.standardError = mergeStderr ? out : errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let fd = out.fileHandleForReading.fileDescriptor
        var line: [UInt8] = [], seen = "", found: Int? = nil
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, found == nil {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 100) > 0 else { continue }
            var byte: UInt8 = 0
            guard read(fd, &byte, 1) == 1 else { break }
            guard byte == 0x0A else { line.append(byte); continue }
            let text = String(decoding: line, as: UTF8.self)
            seen += text + "\n"
            found = parse(text)
            line = []
        }
        guard let port = found else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let why = mergeStderr ? seen : String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self)
            throw VerifyTestError("\(executable) \(arguments.joined(separator: " ")) printed no port: \(why)")
        }
        self.port = port
    }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

/// A database server run as an unprivileged user in a scratch directory, on a port chosen with
/// retry (neither PostgreSQL nor MariaDB can bind port 0 and say which port it got).
final class DatabaseServer {
    let port: Int
    let directory: String
    let log: String

    /// `command(port)` is the server's argv; `ready` is the log line that says it listens.
    init(directory: String, ready: String, command: (Int) -> [String]) throws {
        self.directory = directory
        log = "\(directory)/server.log"
        for _ in 0..<8 {
            let port = Int.random(in: 20_000...60_000)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.asUnprivileged[0])
            p.arguments = Array(Self.asUnprivileged.dropFirst()) + command(port)
            FileManager.default.createFile(atPath: log, contents: nil)
            let handle = FileHandle(forWritingAtPath: log)
            p.standardOutput = handle
            p.standardError = handle
            p.standardInput = FileHandle.nullDevice
            try p.run()
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, p.isRunning {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                if text.contains(ready) && Loopback.canConnect(host: "127.0.0.1", port: port) {
                    self.port = port
                    running = p
                    return
                }
                if text.contains("already in use") || text.contains("could not bind") || text.contains("Can't start server") { break }
                usleep(50_000)
            }
            DatabaseServer.stop(p)
        }
        throw VerifyTestError("the database server did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    private var running: Process?

    /// SIGTERM (both servers shut down fast on it), then SIGKILL.
    static func stop(_ p: Process) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, SIGTERM)
        for _ in 0..<200 where p.isRunning { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    func stop() { if let running { DatabaseServer.stop(running) } }

    deinit { stop() }

    /// Databases refuse to run as root: as root, run them as `nobody` (exec, so the pid is the server's).
    static var isRoot: Bool { getuid() == 0 }
    static var asUnprivileged: [String] { DatabaseServer.isRoot ? ["/usr/sbin/runuser", "-u", "nobody", "--"] : ["/usr/bin/env"] }

    /// A directory the server user owns, holding a copy of the certificate and key it may read.
    static func prepare(_ directory: String, live: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(live)/fullchain.pem", toPath: "\(directory)/cert.pem")
        try FileManager.default.copyItem(atPath: "\(live)/privkey.pem", toPath: "\(directory)/key.pem")
        chmod("\(directory)/key.pem", 0o600)
        // The scratch parent must be traversable by the server user.
        chmod((directory as NSString).deletingLastPathComponent, 0o755)
        if isRoot {
            for path in [directory, "\(directory)/cert.pem", "\(directory)/key.pem"] { chown(path, 65534, 65534) }
        }
    }
}

let startTLSFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

/// STARTTLS against real servers on loopback, each given a certificate from `certs ca`: one
/// PostgreSQL, one MariaDB, one SMTP server (aiosmtpd), plus servers that misbehave.
@Suite(.serialized) struct StartTLSTests {
    @Test func postgresServesItsCertificateAfterSSLRequest() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let dir = s.file("pg")
        try DatabaseServer.prepare(dir, live: live)
        let bin = "/usr/lib/postgresql/15/bin"
        let initdb = try run(DatabaseServer.asUnprivileged[0],
                             Array(DatabaseServer.asUnprivileged.dropFirst()) + ["\(bin)/initdb", "-D", "\(dir)/data", "-A", "trust", "-U", "postgres", "--no-sync"])
        #expect(initdb.status == 0, "initdb: \(initdb.stderr)")
        let server = try DatabaseServer(directory: dir, ready: "ready to accept connections") { port in
            ["\(bin)/postgres", "-D", "\(dir)/data", "-c", "ssl=on", "-c", "ssl_cert_file=\(dir)/cert.pem", "-c", "ssl_key_file=\(dir)/key.pem",
             "-c", "listen_addresses=127.0.0.1", "-c", "port=\(port)", "-c", "unix_socket_directories=\(dir)", "-c", "fsync=off"]
        }
        defer { server.stop() }

        let verified = try certs("verify", "--connect", "postgres://localhost:\(server.port)", "--trust", f.root, "--json")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        let result = try #require(try verifyJSON(verified).first)
        #expect(result["source"] as? String == "postgres://localhost:\(server.port)")
        #expect((result["chain"] as? [[String: Any]])?.first?["subject"] as? String == "CN=localhost")
        #expect((result["connection"] as? [String: Any])?["starttls"] as? String == "postgres")

        let checked = try certs("check", "--endpoint", "postgres://localhost:\(server.port)", "--trust", f.root)
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.hasPrefix("CERTS OK"))

        // Direct TLS to PostgreSQL: it hangs up without a word; say so, not "unexpected eof".
        let direct = try certs("verify", "--connect", "127.0.0.1:\(server.port)", "--trust", f.root)
        expectOneLineError(direct, exit: 4, mentioning: "closed the connection during the TLS handshake")
        #expect(!direct.stderr.contains("unexpected eof"))
    }

    @Test func mariadbServesItsCertificateAfterSSLRequestAndIsNamedInDirectMode() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let dir = s.file("my")
        try DatabaseServer.prepare(dir, live: live)
        try FileManager.default.createDirectory(atPath: "\(dir)/data", withIntermediateDirectories: true)
        if DatabaseServer.isRoot { chown("\(dir)/data", 65534, 65534) }
        // An empty datadir with --skip-grant-tables starts in a second and still greets with TLS.
        let server = try DatabaseServer(directory: dir, ready: "ready for connections") { port in
            ["/usr/sbin/mariadbd", "--no-defaults", "--datadir=\(dir)/data", "--socket=\(dir)/sock", "--pid-file=\(dir)/pid",
             "--bind-address=127.0.0.1", "--port=\(port)", "--ssl-cert=\(dir)/cert.pem", "--ssl-key=\(dir)/key.pem",
             "--skip-grant-tables", "--innodb-buffer-pool-size=8M", "--skip-log-bin"]
        }
        defer { server.stop() }

        let verified = try certs("verify", "--connect", "mysql://127.0.0.1:\(server.port)", "--trust", f.root, "--host", "localhost")
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("VALID"))
        #expect(verified.stdout.contains("TLSv1."))

        let direct = try certs("check", "--endpoint", "127.0.0.1:\(server.port)", "--trust", f.root)
        #expect(direct.status == 3, "\(direct.stdout)\(direct.stderr)")
        #expect(direct.stdout.contains("a MySQL greeting from '5.5.5-10."), "\(direct.stdout)")
        #expect(direct.stdout.contains("mysql://127.0.0.1:\(server.port)"))
    }

    @Test func smtpStartTLSAndSubmissionAndWhatDirectTLSSees() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let smtp = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/starttls_fixture.py", "smtp",
                                                              "--cert", "\(live)/fullchain.pem", "--key", "\(live)/privkey.pem"])
        defer { smtp.stop() }

        let verified = try certs("verify", "--connect", "smtp://localhost:\(smtp.port)", "--trust", f.root)
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.hasPrefix("smtp://localhost:\(smtp.port): VALID"))

        let submission = try certs("verify", "--connect", "submission://localhost:\(smtp.port)", "--trust", f.root)
        #expect(submission.status == 0, "\(submission.stdout)\(submission.stderr)")

        // --endpoint keeps the scheme (no "is a URL" rewrite to host:port) and reports it as the source.
        let checked = try certs("check", "--endpoint", "smtp://localhost:\(smtp.port)", "--trust", f.root, "--json")
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(checked.stdout.contains("\"smtp://localhost:\(smtp.port)\""))
        #expect(!checked.stderr.contains("is a URL"))

        // Direct TLS on an SMTP port: the banner, and the scheme to use instead.
        let direct = try certs("verify", "--connect", "127.0.0.1:\(smtp.port)", "--trust", f.root)
        expectOneLineError(direct, exit: 4, mentioning: "an SMTP banner '220 mail.test")
        #expect(direct.stderr.contains("smtp://127.0.0.1:\(smtp.port)"))

        // The wrong dialogue: an IMAP client meeting an SMTP server hears the SMTP banner.
        let imap = try certs("verify", "--connect", "imap://127.0.0.1:\(smtp.port)", "--timeout", "3")
        expectOneLineError(imap, exit: 4, mentioning: "IMAP STARTTLS with 127.0.0.1:\(smtp.port) failed: the server answered with an SMTP banner")
    }

    @Test func silentAndTricklingServersEndWithinTheTimeoutAndOthersAreUnaffected() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1")
        let silent = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/starttls_fixture.py", "silent"])
        defer { silent.stop() }
        let trickle = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/starttls_fixture.py", "trickle"])
        defer { trickle.stop() }
        let smtp = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/starttls_fixture.py", "smtp",
                                                              "--cert", "\(live)/fullchain.pem", "--key", "\(live)/privkey.pem"])
        defer { smtp.stop() }

        let start = Date()
        let r = try certs("check", "--endpoint", "smtp://127.0.0.1:\(silent.port)", "--endpoint", "smtp://127.0.0.1:\(trickle.port)",
                          "--endpoint", "smtp://localhost:\(smtp.port)", "--trust", f.root, "--timeout", "2", "--json")
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 6, "took \(elapsed) s")
        #expect(r.status == 3, "\(r.stdout)\(r.stderr)")
        let doc = try parseJSONObject(r.stdout)
        let results = try #require(doc["results"] as? [[String: Any]])
        func entry(_ port: Int) -> [String: Any]? { results.first { ($0["source"] as? String)?.hasSuffix(":\(port)") == true } }
        #expect((entry(smtp.port)?["status"] as? String)?.lowercased() == "ok")
        #expect((entry(silent.port)?["error"] as? String)?.contains("no answer within 2 s during the SMTP greeting") == true, "\(r.stdout)")
        #expect((entry(trickle.port)?["error"] as? String)?.contains("no answer within 2 s") == true, "\(r.stdout)")
    }

    @Test func plainHTTPOnATLSPortIsNamed() throws {
        let http = try PortPrintingServer("/usr/bin/env", ["python3", "\(startTLSFixtures)/http_fixture.py"])
        defer { http.stop() }
        let r = try certs("verify", "--connect", "127.0.0.1:\(http.port)", "--timeout", "3")
        expectOneLineError(r, exit: 4, mentioning: "the server answered with an HTML page")
        #expect(r.stderr.contains("HTTP server"))
    }
}
