import Foundation
import Testing

/// A scratch directory removed when the test's value goes away.
final class Scratch {
    let path: String
    init() {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/certs-test-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { "\(path)/\(name)" }
    func write(_ name: String, _ text: String) -> String {
        let p = file(name); _ = FileManager.default.createFile(atPath: p, contents: Data(text.utf8)); return p
    }
    func write(_ name: String, bytes: [UInt8]) -> String {
        let p = file(name); _ = FileManager.default.createFile(atPath: p, contents: Data(bytes)); return p
    }
    func read(_ name: String) -> String { (try? String(contentsOfFile: file(name), encoding: .utf8)) ?? "" }
    func bytes(_ name: String) -> [UInt8] { Array((try? Data(contentsOf: URL(fileURLWithPath: file(name)))) ?? Data()) }
    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }
    func mode(_ name: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: file(name))[.posixPermissions]) as? Int) ?? -1
    }
    /// Names in the directory, including hidden ones (to catch leftover temp files).
    func listing(_ dir: String = "") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? path : file(dir))) ?? []).sorted()
    }
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

/// Runs a program and waits; `stdin` is fed when given. Output is collected in full.
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], stdin: [UInt8]? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var env = ProcessInfo.processInfo.environment
    // Tests run certs without a terminal, like cron: no random renewal delay unless a test asks.
    env["CERTS_RANDOM_DELAY"] = env["CERTS_RANDOM_DELAY"] ?? "0"
    // Nothing leaves the machine: the CAA check (and DNS-01 zone discovery) of a test that names
    // no resolver asks a closed loopback port, fails at once and is skipped (the CA decides).
    env["CERTS_DNS_RESOLVER"] = env["CERTS_DNS_RESOLVER"] ?? "127.0.0.1:9"
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try? input.fileHandleForWriting.close()
    // Read both pipes concurrently so a chatty child cannot block on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let result = RunResult(status: process.terminationStatus,
                           stdout: String(decoding: outData, as: UTF8.self),
                           stderr: String(decoding: errData, as: UTF8.self))
    recordForSecretScan(executable: executable, arguments: arguments, result)
    return result
}

/// With CERTS_TEST_OUTPUT_LOG set (scripts/test sets it), every `certs` run's arguments and output
/// are appended there as a JSON line; scripts/scan-secrets then fails the run if any of it holds
/// private-key material or a test passphrase.
func recordForSecretScan(executable: String, arguments: [String], _ result: RunResult) {
    guard let log = ProcessInfo.processInfo.environment["CERTS_TEST_OUTPUT_LOG"],
          executable == certsBinary || arguments.contains(certsBinary) else { return }
    let record: [String: Any] = ["args": arguments, "status": Int(result.status), "stdout": result.stdout, "stderr": result.stderr]
    guard var line = try? JSONSerialization.data(withJSONObject: record) else { return }
    line.append(0x0A)
    let fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
    guard fd >= 0 else { return }
    defer { close(fd) }
    line.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }  // one write: O_APPEND keeps lines whole
}

/// The built `certs` binary, next to the test bundle in the build directory.
let certsBinary: String = {
    if let explicit = ProcessInfo.processInfo.environment["CERTS_BINARY"] { return explicit }
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent("certs").path
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDir), !isDir.boolValue { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/certs").path
}()

/// Runs `certs` with arguments.
@discardableResult
func certs(_ arguments: String..., cwd: String? = nil, environment: [String: String] = [:], stdin: [UInt8]? = nil) throws -> RunResult {
    try run(certsBinary, arguments, cwd: cwd, environment: environment, stdin: stdin)
}

func certs(_ arguments: [String], cwd: String? = nil, environment: [String: String] = [:], stdin: [UInt8]? = nil) throws -> RunResult {
    try run(certsBinary, arguments, cwd: cwd, environment: environment, stdin: stdin)
}

/// Runs the real `openssl` CLI, the independent peer every test checks against.
@discardableResult
func openssl(_ arguments: String..., cwd: String? = nil, stdin: [UInt8]? = nil) throws -> RunResult {
    try run("/usr/bin/openssl", arguments, cwd: cwd, stdin: stdin)
}

/// Asserts the documented shape of every error: exactly one line on stderr starting "error: ".
func expectOneLineError(_ r: RunResult, exit: Int32, mentioning fragment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == exit, "exit \(r.status), stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderrLines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.hasPrefix("error: "), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    if let fragment { #expect(r.stderr.contains(fragment), "stderr: \(r.stderr)", sourceLocation: sourceLocation) }
}

// MARK: - Helpers for the foundation test suite (key, csr, inspect, ca, bad input)

/// Runs a `/bin/sh -c` script, e.g. to set a umask before `exec certs …`.
@discardableResult
func shell(_ script: String, cwd: String? = nil, environment: [String: String] = [:]) throws -> RunResult {
    try run("/bin/sh", ["-c", script], cwd: cwd, environment: environment)
}

/// Single-quotes a word for /bin/sh.
func shQuote(_ s: String) -> String {
    "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
}

/// Parses a JSON document with Foundation (independent of the tool's own JSON writer).
func parseJSONObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(value as? [String: Any], "not a JSON object: \(text)", sourceLocation: sourceLocation)
}

/// The base64 body lines of every PEM block in `pem` (what must never leak for a private key).
func pemBodyLines(_ pem: String) -> [String] {
    pem.split(separator: "\n").map(String.init).filter { line in
        !line.isEmpty && !line.hasPrefix("-----") && !line.contains(":") && line.count >= 16
    }
}

/// Asserts a failure did not crash: no Swift runtime trap, backtrace or signal.
func expectNoCrash(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) {
    for marker in ["Fatal error", "Stack dump", "Backtrace", "Current stack trace", "SIG", "Illegal instruction"] {
        #expect(!r.stderr.contains(marker), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }
    #expect(r.status >= 0 && r.status < 128, "status \(r.status)", sourceLocation: sourceLocation)
}

/// Names in `dir` (hidden ones included, so leftover temp files show).
func directoryListing(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

/// `openssl` output on success; the test fails with openssl's stderr otherwise.
func opensslOK(_ arguments: String..., cwd: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    let r = try run("/usr/bin/openssl", arguments, cwd: cwd)
    #expect(r.status == 0, "openssl \(arguments.joined(separator: " ")) failed: \(r.stderr)", sourceLocation: sourceLocation)
    return r.stdout
}

/// A three-certificate chain made by the openssl CLI alone: an EC P-256 root and intermediate and
/// an RSA-2048 leaf for leaf.example with SANs, key usage and EKU. Files live in the scratch dir.
struct OpenSSLChain {
    let root: String, rootKey: String
    let intermediate: String, intermediateKey: String
    let leaf: String, leafKey: String
    /// leaf, intermediate, root concatenated (PEM).
    let bundle: String

    static func make(in s: Scratch) throws -> OpenSSLChain {
        let root = s.file("root.pem"), rootKey = s.file("root.key")
        let int = s.file("int.pem"), intKey = s.file("int.key")
        let leaf = s.file("leaf.pem"), leafKey = s.file("leaf.key")
        _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", rootKey, "-out", root, "-subj", "/O=Test/CN=Test Root", "-days", "3650",
                          "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        let intExt = s.write("int.ext", """
            basicConstraints=critical,CA:TRUE,pathlen:0
            keyUsage=critical,keyCertSign,cRLSign
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid:always

            """)
        _ = try opensslOK("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", intKey, "-out", s.file("int.csr"), "-subj", "/CN=Test Intermediate")
        _ = try opensslOK("x509", "-req", "-in", s.file("int.csr"), "-CA", root, "-CAkey", rootKey, "-set_serial", "0x1001",
                          "-days", "1000", "-extfile", intExt, "-out", int)
        let leafExt = s.write("leaf.ext", """
            basicConstraints=critical,CA:FALSE
            keyUsage=critical,digitalSignature,keyEncipherment
            extendedKeyUsage=serverAuth,clientAuth
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid:always
            subjectAltName=DNS:leaf.example,DNS:www.leaf.example,IP:192.0.2.7,IP:2001:db8::7

            """)
        _ = try opensslOK("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", leafKey, "-out", s.file("leaf.csr"),
                          "-subj", "/CN=leaf.example")
        _ = try opensslOK("x509", "-req", "-in", s.file("leaf.csr"), "-CA", int, "-CAkey", intKey, "-set_serial", "0x00ab01",
                          "-days", "90", "-extfile", leafExt, "-out", leaf)
        let bundle = s.write("bundle.pem", s.read("leaf.pem") + s.read("int.pem") + s.read("root.pem"))
        return OpenSSLChain(root: root, rootKey: rootKey, intermediate: int, intermediateKey: intKey,
                            leaf: leaf, leafKey: leafKey, bundle: bundle)
    }
}
