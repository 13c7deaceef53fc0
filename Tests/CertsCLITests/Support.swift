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
    return RunResult(status: process.terminationStatus,
                     stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
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
