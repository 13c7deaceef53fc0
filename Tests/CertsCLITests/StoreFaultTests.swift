import Foundation
import Testing

/// The store on a real, small file system (a tmpfs mounted for the test) that fills up or turns
/// read-only: every write fails with one line and exit 3, and the live certificate is untouched.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounts a tmpfs: needs root (CI runs as root)"))
struct StoreFaultTests {
    final class SmallFileSystem {
        let path: String
        init(_ path: String, size: String) throws {
            self.path = path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let r = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size),mode=0755", "tmpfs", path])
            guard r.status == 0 else { throw HarnessError("mount tmpfs: \(r.stderr)") }
        }
        func remountReadOnly() throws {
            let r = try run("/bin/mount", ["-o", "remount,ro", path])
            guard r.status == 0 else { throw HarnessError("remount ro: \(r.stderr)") }
        }
        deinit { _ = try? run("/bin/umount", ["-l", path]) }
    }

    func issuedStore(_ s: Scratch) throws -> (fs: SmallFileSystem, store: String, fullchain: String) {
        let fs = try SmallFileSystem(s.file("mnt"), size: "512k")
        let store = "\(fs.path)/store"
        #expect(try certs("ca", "init", "--store", store).status == 0)
        let issued = try certs("ca", "issue", "app.example", "--store", store)
        #expect(issued.status == 0, "\(issued.stderr)")
        return (fs, store, s.read("mnt/store/live/app.example/fullchain.pem"))
    }

    func expectUntouched(_ s: Scratch, _ fullchain: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(!fullchain.isEmpty, sourceLocation: sourceLocation)
        #expect(s.read("mnt/store/live/app.example/fullchain.pem") == fullchain, "the live certificate changed", sourceLocation: sourceLocation)
        let stray = try run("/usr/bin/find", [s.file("mnt/store"), "-name", ".*tmp-*"]).stdout
        #expect(stray.isEmpty, "temp files left behind: \(stray)", sourceLocation: sourceLocation)
    }

    @Test func aFullStoreFailsTheWriteWithExit3AndKeepsTheLiveCertificate() throws {
        let s = Scratch()
        let (fs, store, fullchain) = try issuedStore(s)
        _ = try run("/bin/dd", ["if=/dev/zero", "of=\(fs.path)/filler", "bs=4096"])  // ends with ENOSPC
        let r = try certs("ca", "issue", "app.example", "--store", store)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderrLines.count == 1 && r.stderr.contains("no space left on device"), "\(r.stderr)")
        try expectUntouched(s, fullchain)
        let key = try certs("key", "new", "--out", "\(fs.path)/new.key")
        #expect(key.status == 3 && key.stderrLines.count == 1, "\(key.stderr)")
        #expect(!s.exists("mnt/new.key"))
        // Room again: the same command succeeds and makes a new live version.
        try FileManager.default.removeItem(atPath: "\(fs.path)/filler")
        let again = try certs("ca", "issue", "app.example", "--store", store)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(s.read("mnt/store/live/app.example/fullchain.pem") != fullchain)
    }

    @Test func aReadOnlyStoreFailsEveryWriteWithExit3() throws {
        let s = Scratch()
        let (fs, store, fullchain) = try issuedStore(s)
        try fs.remountReadOnly()
        for args in [["ca", "issue", "app.example", "--store", store],
                     ["rollback", "app.example", "--store", store],
                     ["key", "new", "--out", "\(fs.path)/new.key"]] {
            let r = try certs(args)
            #expect(r.status == 3 || (args[0] == "rollback" && r.status == 2), "certs \(args.joined(separator: " ")): \(r.status) \(r.stderr)")
            #expect(r.stderrLines.count == 1 && r.stderrLines[0].hasPrefix("error: "), "\(r.stderr)")
        }
        let ca = try certs("ca", "issue", "app.example", "--store", store)
        #expect(ca.stderr.contains("read-only file system"), "\(ca.stderr)")
        try expectUntouched(s, fullchain)
    }
}
