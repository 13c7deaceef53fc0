import Foundation
import Testing

/// Private keys stay private: exact modes, no following a planted symlink, no passphrase on the
/// command line, and keys that others can read are pointed out.
@Suite struct SecretsTests {
    @Test func aPlantedSymlinkCannotRedirectAKeyWrite() throws {
        let s = Scratch()
        let victim = s.write("victim.txt", "do not touch\n")
        try FileManager.default.createSymbolicLink(atPath: s.file("key.pem"), withDestinationPath: victim)
        // Without --force: something is there, refuse.
        let refused = try certs("key", "new", "--out", s.file("key.pem"))
        #expect(refused.status == 3, "\(refused.stderr)")
        // With --force: the link itself is replaced by a new 0600 file; its target is untouched.
        let forced = try certs("key", "new", "--out", s.file("key.pem"), "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(s.read("victim.txt") == "do not touch\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: s.file("key.pem"))
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // A dangling link planted where a CSR's new key goes is refused too, and nothing is created behind it.
        try FileManager.default.createSymbolicLink(atPath: s.file("new.key"), withDestinationPath: s.file("elsewhere.key"))
        let csr = try certs("csr", "new", "--key-type", "ec-p256", "--key-out", s.file("new.key"), "--cn", "a.example", "--out", s.file("a.csr"))
        #expect(csr.status != 0)
        #expect(!s.exists("elsewhere.key"))
    }

    @Test func aPassphraseIsNeverAcceptedOnTheCommandLine() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--out", s.file("k.pem"), "--encrypt", "--passphrase", "hunter22")
        #expect(r.status == 2)
        #expect(!r.stderr.contains("hunter22"))
        #expect(!s.exists("k.pem"))
    }

    @Test func inspectPointsOutAKeyOthersCanRead() throws {
        let s = Scratch()
        #expect(try certs("key", "new", "--out", s.file("k.pem")).status == 0)
        let quiet = try certs("inspect", s.file("k.pem"))
        #expect(quiet.status == 0 && !quiet.stderr.contains("warning"))
        chmod(s.file("k.pem"), 0o644)
        let loud = try certs("inspect", s.file("k.pem"))
        #expect(loud.status == 0)
        #expect(loud.stderr.contains("readable by everyone (mode 644): chmod 600"), "\(loud.stderr)")
        #expect(!loud.stdout.contains("PRIVATE KEY") && !loud.stderr.contains("PRIVATE KEY-----"))
    }
}
