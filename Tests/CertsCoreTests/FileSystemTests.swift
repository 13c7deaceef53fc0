import Foundation
import Testing
@testable import CertsCore

/// A temporary directory for one core test, removed when the value goes away.
final class CoreScratch {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.path + "/certs-core-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { "\(path)/\(name)" }
    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        FileManager.default.createFile(atPath: file(name), contents: Data(text.utf8)); return file(name)
    }
    func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
    /// Names in the directory, hidden ones included.
    func listing() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
    func mode(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1 }
    func isSymlink(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeSymbolicLink
    }
}

/// Runs the real openssl CLI (core tests compare against it too).
func opensslCLI(_ arguments: [String], stdin: [UInt8]? = nil) throws -> (status: Int32, stdout: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = arguments
    let out = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin)) }
    try? input.fileHandleForWriting.close()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite struct FileSystemTests {
    @Test func refuseDoesNotFollowAPlantedSymlinkAndLeavesTheVictimUntouched() throws {
        let s = CoreScratch()
        let victim = s.write("victim", "precious\n")
        try FileManager.default.createSymbolicLink(atPath: s.file("dest"), withDestinationPath: victim)
        #expect(throws: OutputError.exists(path: s.file("dest"))) {
            try FileSystem.writeAtomically(Array("attacker-controlled\n".utf8), to: s.file("dest"), mode: 0o600, existing: .refuse)
        }
        #expect(s.read(victim) == "precious\n")
        #expect(s.isSymlink(s.file("dest")))
        #expect(s.listing() == ["dest", "victim"])
    }

    @Test func refuseTreatsADanglingSymlinkAsExisting() throws {
        let s = CoreScratch()
        let target = s.file("not-yet-there")
        try FileManager.default.createSymbolicLink(atPath: s.file("dest"), withDestinationPath: target)
        #expect(throws: OutputError.exists(path: s.file("dest"))) {
            try FileSystem.writeAtomically(Array("x".utf8), to: s.file("dest"), mode: 0o600, existing: .refuse)
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(s.listing() == ["dest"])
    }

    @Test func replaceReplacesAPlantedSymlinkItselfNotItsTarget() throws {
        let s = CoreScratch()
        let victim = s.write("victim", "precious\n")
        try FileManager.default.createSymbolicLink(atPath: s.file("dest"), withDestinationPath: victim)
        try FileSystem.writeAtomically(Array("new content\n".utf8), to: s.file("dest"), mode: 0o600, existing: .replace)
        #expect(s.read(victim) == "precious\n")
        #expect(!s.isSymlink(s.file("dest")))
        #expect(s.read(s.file("dest")) == "new content\n")
        #expect(s.mode(s.file("dest")) == 0o600)
        #expect(s.listing() == ["dest", "victim"])
    }

    @Test func refuseNeverOverwritesAnExistingFile() throws {
        let s = CoreScratch()
        s.write("dest", "old\n")
        #expect(throws: OutputError.exists(path: s.file("dest"))) {
            try FileSystem.writeAtomically(Array("new\n".utf8), to: s.file("dest"), mode: 0o644)
        }
        #expect(s.read(s.file("dest")) == "old\n")
        #expect(s.listing() == ["dest"])
    }

    @Test func replaceOverwritesAtomicallyWithTheNewMode() throws {
        let s = CoreScratch()
        s.write("dest", "old\n")
        try FileSystem.writeAtomically(Array("new\n".utf8), to: s.file("dest"), mode: 0o640, existing: .replace)
        #expect(s.read(s.file("dest")) == "new\n")
        #expect(s.mode(s.file("dest")) == 0o640)
        #expect(s.listing() == ["dest"])
    }

    /// The test process' umask is 022 (or stricter): an exact 0666 proves the mode is set, not masked.
    @Test(arguments: [0o600, 0o644, 0o666, 0o400] as [UInt32])
    func writtenFileHasExactlyTheRequestedMode(_ mode: UInt32) throws {
        let s = CoreScratch()
        try FileSystem.writeAtomically(Array("x".utf8), to: s.file("f"), mode: mode_t(mode))
        #expect(s.mode(s.file("f")) == Int(mode))
        #expect(s.listing() == ["f"])
    }

    @Test func missingDirectoryIsReportedAndNothingIsCreated() throws {
        let s = CoreScratch()
        #expect(throws: OutputError.directoryMissing(path: s.file("nope"))) {
            try FileSystem.writeAtomically(Array("x".utf8), to: s.file("nope/f"), mode: 0o600)
        }
        s.write("plain", "file\n")
        #expect(throws: OutputError.directoryMissing(path: s.file("plain"))) {
            try FileSystem.writeAtomically(Array("x".utf8), to: s.file("plain/f"), mode: 0o600)
        }
        #expect(s.listing() == ["plain"])
    }

    @Test func failedWriteLeavesNoTempFile() throws {
        let s = CoreScratch()
        try FileManager.default.createDirectory(atPath: s.file("dest"), withIntermediateDirectories: false)
        // .replace onto a directory: rename(2) fails after the temp file was written.
        #expect(throws: OutputError.self) {
            try FileSystem.writeAtomically(Array("x".utf8), to: s.file("dest"), mode: 0o600, existing: .replace)
        }
        #expect(s.listing() == ["dest"])
    }

    @Test func writeOfEmptyBytesCreatesAnEmptyFile() throws {
        let s = CoreScratch()
        try FileSystem.writeAtomically([], to: s.file("empty"), mode: 0o644)
        #expect(FileManager.default.fileExists(atPath: s.file("empty")))
        #expect(s.read(s.file("empty")) == "")
    }

    @Test func readReportsPreciseErrors() throws {
        let s = CoreScratch()
        #expect(throws: InputError.notFound(path: s.file("missing"))) { try FileSystem.read(s.file("missing")) }
        #expect(throws: InputError.notFound(path: s.file("missing/below"))) { try FileSystem.read(s.file("missing/below")) }
        #expect(throws: InputError.isDirectory(path: s.path)) { try FileSystem.read(s.path) }
        s.write("empty", "")
        #expect(throws: InputError.empty(path: s.file("empty"))) { try FileSystem.read(s.file("empty")) }
        s.write("big", String(repeating: "a", count: 100))
        #expect(throws: InputError.tooLarge(path: s.file("big"), limit: 99)) { try FileSystem.read(s.file("big"), limit: 99) }
        #expect(try FileSystem.read(s.file("big"), limit: 100) == Array(repeating: 97, count: 100))
    }

    @Test func makeDirectoriesCreatesParentsAndRefusesARegularFile() throws {
        let s = CoreScratch()
        try FileSystem.makeDirectories(s.file("a/b/c"), mode: 0o755)
        #expect(FileSystem.isDirectory(s.file("a/b/c")))
        try FileSystem.makeDirectories(s.file("a/b/c"))  // idempotent
        s.write("f", "x")
        #expect(throws: OutputError.self) { try FileSystem.makeDirectories(s.file("f/sub")) }
    }

    @Test func pathHelpersSplitLikeDirnameAndBasename() {
        #expect(FileSystem.directoryName(of: "k.pem") == ".")
        #expect(FileSystem.directoryName(of: "/k.pem") == "/")
        #expect(FileSystem.directoryName(of: "a/b/k.pem") == "a/b")
        #expect(FileSystem.baseName(of: "a/b/k.pem") == "k.pem")
        #expect(FileSystem.baseName(of: "k.pem") == "k.pem")
    }

    @Test func listSkipsHiddenEntries() throws {
        let s = CoreScratch()
        s.write(".tmp", "x"); s.write("b", "x"); s.write("a", "x")
        #expect(FileSystem.list(s.path) == ["a", "b"])
    }
}

/// SIGKILL leaves a writer's temporaries behind; the next writer removes those of dead processes
/// and only those.
@Suite struct StaleTemporaryTests {
    @Test func onlyADeadWritersTemporariesAreRemoved() throws {
        let s = CoreScratch()
        let dead: Int32 = 2_147_483_000  // above any pid_max: kill(2) says ESRCH
        let mine = getpid()
        s.write(".cert.pem.tmp-\(dead)-abc", "half")
        try FileManager.default.createDirectory(atPath: s.file(".0003.tmp-\(dead)-x1"), withIntermediateDirectories: false)
        s.write(".0003.tmp-\(dead)-x1/.privkey.pem.tmp-\(dead)-y2", "key")
        s.write(".0003.tmp-\(dead)-x1/cert.pem", "cert")
        s.write(".chain.pem.tmp-\(mine)-def", "a live writer's")
        s.write(".legacy.tmp-0abc", "no pid: not ours to judge")
        s.write("cert.pem", "the real file")
        FileSystem.removeStaleTemporaries(in: s.path)
        #expect(s.listing() == [".chain.pem.tmp-\(mine)-def", ".legacy.tmp-0abc", "cert.pem"])
        // Temporaries made from now on carry this process's pid.
        #expect(FileSystem.randomSuffix().hasPrefix("\(mine)-"))
    }
}
