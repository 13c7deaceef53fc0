import Foundation
import Testing

/// `certs csr new`, checked with `openssl req -verify -text`.
@Suite struct CSRCommandTests {
    /// `openssl req -verify -noout -text`; fails the test when openssl cannot verify it.
    func verifiedRequestText(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = try openssl("req", "-in", path, "-verify", "-noout", "-text")
        #expect(r.status == 0, "openssl req -verify: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains("verify OK") || r.stdout.contains("verify OK"), "\(r.stderr)", sourceLocation: sourceLocation)
        return r.stdout
    }

    /// The SubjectPublicKeyInfo PEM of a key (per openssl), to compare with a CSR's.
    func publicKeyPEM(ofKey path: String, passin: String? = nil) throws -> String {
        var args = ["pkey", "-in", path, "-pubout"]
        if let passin { args += ["-passin", passin] }
        return try run("/usr/bin/openssl", args).stdout
    }

    @Test func csrFromAnExistingKeyCarriesEverySubjectFieldAndSAN() throws {
        let s = Scratch()
        _ = try opensslOK("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", s.file("k.pem"))
        let keyBefore = s.bytes("k.pem")
        let r = try certs("csr", "new", "--key", s.file("k.pem"), "--cn", "www.example.com",
                          "--san", "DNS:www.example.com,DNS:example.com", "--san", "IP:192.0.2.10", "--san", "IP:2001:DB8:0:0::0:1",
                          "--org", "Example Org", "--org-unit", "Web Team", "--country", "de", "--state", "Bayern", "--locality", "Muenchen",
                          "--out", s.file("r.csr"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try verifiedRequestText(s.file("r.csr"))
        #expect(text.contains("Subject: C = DE, ST = Bayern, L = Muenchen, O = Example Org, OU = Web Team, CN = www.example.com"), "\(text)")
        #expect(text.contains("DNS:www.example.com, DNS:example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1"), "\(text)")
        #expect(text.contains("Signature Algorithm: ecdsa-with-SHA256"))
        // The CSR holds the given key's public half, and the key file is untouched.
        let csrPub = try run("/usr/bin/openssl", ["req", "-in", s.file("r.csr"), "-pubkey", "-noout"]).stdout
        let keyPub = try publicKeyPEM(ofKey: s.file("k.pem"))
        #expect(!csrPub.isEmpty && csrPub == keyPub)
        #expect(s.bytes("k.pem") == keyBefore)
        #expect(s.mode("r.csr") == 0o644)
        #expect(s.listing() == ["k.pem", "r.csr"])
    }

    @Test func newKeyWritesBothAPrivateKeyAndAMatchingCSR() throws {
        let s = Scratch()
        let r = try shell("umask 000; exec \(shQuote(certsBinary)) csr new --key-type ec-p256 --cn app.example --out \(shQuote(s.file("app.csr")))")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        // --out app.csr derives app.key.
        #expect(s.listing() == ["app.csr", "app.key"])
        #expect(s.mode("app.key") == 0o600)
        #expect(s.mode("app.csr") == 0o644)
        let check = try openssl("pkey", "-in", s.file("app.key"), "-check", "-noout")
        #expect(check.status == 0, "openssl: \(check.stderr)")
        _ = try verifiedRequestText(s.file("app.csr"))
        let csrPub = try run("/usr/bin/openssl", ["req", "-in", s.file("app.csr"), "-pubkey", "-noout"]).stdout
        let keyPub = try publicKeyPEM(ofKey: s.file("app.key"))
        #expect(!csrPub.isEmpty && csrPub == keyPub)
        // The key's secret is not printed.
        for line in pemBodyLines(s.read("app.key")) { #expect(!r.stdout.contains(line) && !r.stderr.contains(line)) }
    }

    @Test func newKeyGoesWhereKeyOutSays() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ed25519", "--key-out", s.file("my.key"), "--cn", "a.example", "--out", s.file("a.req"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(s.listing() == ["a.req", "my.key"])
        #expect(s.mode("my.key") == 0o600)
    }

    @Test func newKeyWithEncryptionNeedsThePassphraseToOpenIt() throws {
        let s = Scratch()
        let secret = "csr-key-secret-91"
        let pw = s.write("pw", secret + "\n")
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--passphrase-file", pw, "--cn", "a.example", "--out", s.file("a.csr"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        #expect(s.read("a.key").hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        let csrPub = try run("/usr/bin/openssl", ["req", "-in", s.file("a.csr"), "-pubkey", "-noout"]).stdout
        #expect(csrPub == (try publicKeyPEM(ofKey: s.file("a.key"), passin: "file:\(pw)")))
    }

    @Test(arguments: [
        ("rsa-2048", "sha256WithRSAEncryption"),
        ("ec-p256", "ecdsa-with-SHA256"),
        ("ec-p384", "ecdsa-with-SHA384"),
        ("ed25519", "ED25519"),
    ])
    func signatureAlgorithmFollowsTheKeyType(_ type: String, _ algorithm: String) throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", type, "--cn", "sig.example", "--out", s.file("r.csr"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try verifiedRequestText(s.file("r.csr"))
        #expect(text.contains("Signature Algorithm: \(algorithm)\n"), "\(type): \(text)")
    }

    @Test func withoutSANTheCommonNameBecomesTheOneDNSSAN() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "Only.Example.COM", "--out", s.file("r.csr"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try verifiedRequestText(s.file("r.csr"))
        let sanLine = text.split(separator: "\n").drop { !$0.contains("Subject Alternative Name") }.dropFirst().first
        #expect(sanLine?.trimmingCharacters(in: .whitespaces) == "DNS:only.example.com", "\(text)")
    }

    @Test func sanOnlyRequestUsesTheFirstSANAsCommonName() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--san", "DNS:first.example,DNS:second.example", "--out", s.file("r.csr"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try verifiedRequestText(s.file("r.csr"))
        #expect(text.contains("Subject: CN = first.example"), "\(text)")
        #expect(text.contains("DNS:first.example, DNS:second.example"))
    }

    @Test(arguments: ["DNS:bad..name", "IP:999.1.1.1", "DNS:-leading.example", "DNS:exa mple.com", "FTP:x.example", "IP:1.2.3"])
    func invalidSANIsExit2AndWritesNothing(_ san: String) throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "ok.example", "--san", san, "--out", s.file("r.csr"))
        expectOneLineError(r, exit: 2)
        expectNoCrash(r)
        #expect(s.listing().isEmpty, "left behind: \(s.listing())")
    }

    @Test func encryptedKeyWithoutPassphraseIsExit2MentioningPassphraseFile() throws {
        let s = Scratch()
        let pw = s.write("pw", "right-one\n")
        try certs("key", "new", "--encrypt", "--passphrase-file", pw, "--out", s.file("k.pem"))
        let r = try certs("csr", "new", "--key", s.file("k.pem"), "--cn", "a.example", "--out", s.file("r.csr"))
        expectOneLineError(r, exit: 2, mentioning: "--passphrase-file")
        #expect(!s.exists("r.csr"))
    }

    @Test func encryptedKeyWithWrongPassphraseIsExit2WrongPassphrase() throws {
        let s = Scratch()
        let pw = s.write("pw", "right-one\n")
        let bad = s.write("bad", "wrong-one\n")
        try certs("key", "new", "--encrypt", "--passphrase-file", pw, "--out", s.file("k.pem"))
        let r = try certs("csr", "new", "--key", s.file("k.pem"), "--passphrase-file", bad, "--cn", "a.example", "--out", s.file("r.csr"))
        expectOneLineError(r, exit: 2, mentioning: "wrong passphrase")
        #expect(!r.stderr.contains("wrong-one") && !r.stderr.contains("right-one"))
        #expect(!s.exists("r.csr"))
    }

    @Test func encryptedKeyWithTheRightPassphraseSigns() throws {
        let s = Scratch()
        let pw = s.write("pw", "right-one\n")
        _ = try opensslOK("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc", "-pass", "file:\(pw)", "-out", s.file("k.pem"))
        let r = try certs("csr", "new", "--key", s.file("k.pem"), "--passphrase-env", "PW", "--cn", "a.example", "--out", s.file("r.csr"),
                          environment: ["PW": "right-one"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try verifiedRequestText(s.file("r.csr"))
        #expect(text.contains("Signature Algorithm: sha256WithRSAEncryption"))
    }

    @Test func csrToStdoutWithAnExistingKey() throws {
        let s = Scratch()
        try certs("key", "new", "--out", s.file("k.pem"))
        let r = try certs("csr", "new", "--key", s.file("k.pem"), "--cn", "out.example", "--out", "-", cwd: s.path)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("-----BEGIN CERTIFICATE REQUEST-----\n"))
        let v = try openssl("req", "-verify", "-noout", stdin: Array(r.stdout.utf8))
        #expect(v.status == 0, "openssl: \(v.stderr)")
        #expect(s.listing() == ["k.pem"])
    }

    @Test func existingCSRIsNotReplacedWithoutForceAndNoNewKeyIsLeft() throws {
        let s = Scratch()
        _ = s.write("r.csr", "old request\n")
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "a.example", "--out", s.file("r.csr"))
        expectOneLineError(r, exit: 3, mentioning: "already exists")
        #expect(s.read("r.csr") == "old request\n")
        #expect(s.listing() == ["r.csr"])
    }

    /// Output paths that pass the up-front checks (the directory exists, nothing is there yet) but
    /// cannot be written: the CSR write fails only after the new key has been written.
    static let unwritableCSRPaths: [String] = [
        "/proc/certs-test-\(UUID().uuidString).csr",      // a directory nobody can create files in
        "OUT/" + String(repeating: "c", count: 245),       // fine name, too long a temp sibling name
    ]

    @Test(arguments: unwritableCSRPaths)
    func whenTheCSRCannotBeWrittenAfterTheNewKeyWasNoKeyFileIsLeft(_ outTemplate: String) throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("OUT"), withIntermediateDirectories: false)
        let out = outTemplate.hasPrefix("OUT/") ? s.file(outTemplate) : outTemplate
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--key-out", s.file("new.key"), "--cn", "a.example", "--out", out)
        expectOneLineError(r, exit: 3)
        #expect(!s.exists("new.key"), "the new key was left behind")
        #expect(s.listing() == ["OUT"], "left: \(s.listing())")
        #expect(directoryListing(s.file("OUT")).isEmpty, "left: \(directoryListing(s.file("OUT")))")
    }

    @Test func keyOutAndOutOnTheSamePathLeavesNothingHalfDone() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--key-out", s.file("same.pem"), "--cn", "a.example", "--out", s.file("same.pem"))
        #expect(r.status != 0)
        expectOneLineError(r, exit: r.status)
        // Neither a lone key nor a key posing as a CSR.
        #expect(s.listing().isEmpty, "left: \(s.listing())")
    }

    @Test func csrNeedsANameAndExactlyOneKeySource() throws {
        let s = Scratch()
        expectOneLineError(try certs("csr", "new", "--key-type", "ec-p256", "--out", s.file("r.csr")), exit: 2, mentioning: "--cn")
        expectOneLineError(try certs("csr", "new", "--cn", "a.example", "--out", s.file("r.csr")), exit: 2, mentioning: "--key")
        expectOneLineError(try certs("csr", "new", "--key-type", "ec-p256", "--cn", "a.example", "--country", "DEU", "--out", s.file("r.csr")), exit: 2)
        #expect(s.listing().isEmpty)
    }

    @Test func aFailedForcedRunNeverDestroysTheKeyAlreadyAtTheKeyPath() throws {
        let s = Scratch()
        #expect(try certs("key", "new", "--out", s.file("site.key")).status == 0)
        let original = s.bytes("site.key")
        // --force would replace site.key, but the CSR cannot be written (/proc is not writable).
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--key-out", s.file("site.key"), "--cn", "a.example",
                          "--out", "/proc/certs-no-such-dir/r.csr", "--force")
        #expect(r.status == 3, "\(r.stderr)")
        #expect(s.bytes("site.key") == original)
    }
}
