import Foundation
import Testing

/// `certs key new`, checked against `openssl pkey`.
@Suite struct KeyCommandTests {
    /// What `openssl pkey -text -noout` must print for each type.
    static let expectedText: [(type: String, fragments: [String])] = [
        ("ec-p256", ["Private-Key: (256 bit)", "NIST CURVE: P-256"]),
        ("ec-p384", ["Private-Key: (384 bit)", "NIST CURVE: P-384"]),
        ("rsa-2048", ["Private-Key: (2048 bit"]),
        ("rsa-3072", ["Private-Key: (3072 bit"]),
        ("rsa-4096", ["Private-Key: (4096 bit"]),  // the one (slow) RSA-4096 generation in the suite
        ("ed25519", ["ED25519 Private-Key:"]),
    ]

    @Test(arguments: expectedText)
    func everyKeyTypePassesOpenSSLsCheckAndHasTheRightTypeAndSize(_ expected: (type: String, fragments: [String])) throws {
        let s = Scratch()
        let r = try certs("key", "new", "--key-type", expected.type, "--out", s.file("k.pem"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(s.read("k.pem").hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let check = try openssl("pkey", "-in", s.file("k.pem"), "-check", "-noout")
        #expect(check.status == 0, "openssl pkey -check: \(check.stdout) \(check.stderr)")
        let text = try openssl("pkey", "-in", s.file("k.pem"), "-text", "-noout")
        #expect(text.status == 0)
        for fragment in expected.fragments {
            #expect(text.stdout.contains(fragment), "\(expected.type): missing \(fragment) in \(text.stdout.prefix(300))")
        }
    }

    @Test func defaultKeyTypeIsECP256() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--out", s.file("k.pem"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let text = try openssl("pkey", "-in", s.file("k.pem"), "-text", "-noout")
        #expect(text.stdout.contains("NIST CURVE: P-256"))
        #expect(text.stdout.contains("Private-Key: (256 bit)"))
    }

    @Test func keyIsWrittenMode0600EvenWithPermissiveUmask() throws {
        let s = Scratch()
        let r = try shell("umask 000; exec \(shQuote(certsBinary)) key new --out \(shQuote(s.file("k.pem")))")
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(s.mode("k.pem") == 0o600)
        // A replacement with --force is just as private.
        let again = try shell("umask 000; exec \(shQuote(certsBinary)) key new --force --out \(shQuote(s.file("k.pem")))")
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(s.mode("k.pem") == 0o600)
        #expect(s.listing() == ["k.pem"])
    }

    @Test func existingKeyIsNeverReplacedWithoutForce() throws {
        let s = Scratch()
        try certs("key", "new", "--out", s.file("k.pem"))
        let before = s.bytes("k.pem")
        #expect(!before.isEmpty)
        let r = try certs("key", "new", "--key-type", "ed25519", "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 3, mentioning: "already exists")
        #expect(r.stderr.contains("--force"))
        #expect(s.bytes("k.pem") == before)
        #expect(s.listing() == ["k.pem"])
    }

    @Test func forceReplacesAnExistingKey() throws {
        let s = Scratch()
        try certs("key", "new", "--out", s.file("k.pem"))
        let before = s.bytes("k.pem")
        let r = try certs("key", "new", "--force", "--key-type", "ed25519", "--out", s.file("k.pem"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(s.bytes("k.pem") != before)
        let text = try openssl("pkey", "-in", s.file("k.pem"), "-text", "-noout")
        #expect(text.stdout.contains("ED25519 Private-Key:"))
        #expect(s.mode("k.pem") == 0o600)
        #expect(s.listing() == ["k.pem"])
    }

    @Test func outDashWritesThePEMToStdoutAndCreatesNoFile() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--out", "-", cwd: s.path)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(r.stdout.hasSuffix("-----END PRIVATE KEY-----\n"))
        let check = try openssl("pkey", "-check", "-noout", stdin: Array(r.stdout.utf8))
        #expect(check.status == 0, "openssl: \(check.stderr)")
        #expect(s.listing().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: s.file("-")))
    }

    @Test func encryptWithPassphraseFileWritesAES256EncryptedPKCS8() throws {
        let s = Scratch()
        let secret = "correct horse battery staple 7Q"
        let pw = s.write("pw.txt", secret + "\n")
        let r = try certs("key", "new", "--encrypt", "--passphrase-file", pw, "--out", s.file("k.pem"))
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        let pem = s.read("k.pem")
        #expect(pem.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        #expect(s.mode("k.pem") == 0o600)
        // openssl opens it with the passphrase (first line of the file, newline excluded)…
        let open = try openssl("pkey", "-in", s.file("k.pem"), "-passin", "file:\(pw)", "-check", "-noout")
        #expect(open.status == 0, "openssl: \(open.stderr)")
        // …and not with another one.
        let wrong = try openssl("pkey", "-in", s.file("k.pem"), "-passin", "pass:not the passphrase", "-noout")
        #expect(wrong.status != 0)
        let asn1 = try openssl("asn1parse", "-in", s.file("k.pem"))
        #expect(asn1.stdout.contains("aes-256-cbc"), "asn1parse: \(asn1.stdout)")
        #expect(asn1.stdout.contains("PBES2"))
    }

    @Test func encryptWithPassphraseEnvWorksAndNeverPrintsThePassphrase() throws {
        let s = Scratch()
        let secret = "env-secret-Zx81-do-not-print"
        let r = try certs("key", "new", "--key-type", "ec-p384", "--encrypt", "--passphrase-env", "CERTS_TEST_PW", "--out", s.file("k.pem"),
                          environment: ["CERTS_TEST_PW": secret])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        #expect(s.read("k.pem").hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        let pw = s.write("pw", secret)
        let text = try openssl("pkey", "-in", s.file("k.pem"), "-passin", "file:\(pw)", "-text", "-noout")
        #expect(text.status == 0, "openssl: \(text.stderr)")
        #expect(text.stdout.contains("NIST CURVE: P-384"))
        #expect(try openssl("asn1parse", "-in", s.file("k.pem")).stdout.contains("aes-256-cbc"))
    }

    @Test func encryptedKeyToStdoutDoesNotEchoThePassphrase() throws {
        let s = Scratch()
        let secret = "stdout-secret-Q9"
        let r = try certs("key", "new", "--encrypt", "--passphrase-env", "CERTS_TEST_PW", "--out", "-", cwd: s.path,
                          environment: ["CERTS_TEST_PW": secret])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"))
        #expect(!r.stdout.contains(secret) && !r.stderr.contains(secret))
        #expect(s.listing().isEmpty)
    }

    @Test func encryptWithoutAPassphraseSourceIsAUsageError() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--encrypt", "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 2, mentioning: "--passphrase-file")
        #expect(s.listing().isEmpty)
    }

    @Test func unsetPassphraseEnvironmentVariableIsExit2AndWritesNothing() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--encrypt", "--passphrase-env", "CERTS_TEST_SURELY_UNSET_VAR", "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 2, mentioning: "CERTS_TEST_SURELY_UNSET_VAR")
        #expect(s.listing().isEmpty)
    }

    @Test(arguments: ["rsa-1024", "dsa", "ec-p521x", ""])
    func unknownKeyTypeIsExit2WithOneLineError(_ type: String) throws {
        let s = Scratch()
        let r = try certs("key", "new", "--key-type", type, "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 2)
        expectNoCrash(r)
        #expect(s.listing().isEmpty)
    }

    @Test func unknownKeyTypeErrorNamesTheValidTypes() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--key-type", "rsa-1024", "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 2, mentioning: "rsa-1024")
        #expect(r.stderr.contains("ec-p256") && r.stderr.contains("ed25519"), "stderr: \(r.stderr)")
    }

    @Test func missingOutputDirectoryIsExit3AndLeavesNoTempFiles() throws {
        let s = Scratch()
        let r = try certs("key", "new", "--out", s.file("no-such-dir/k.pem"))
        expectOneLineError(r, exit: 3, mentioning: "no-such-dir")
        #expect(s.listing().isEmpty)
    }

    @Test func outputWhoseParentIsARegularFileIsExit3AndLeavesNoTempFiles() throws {
        let s = Scratch()
        _ = s.write("plain", "not a directory\n")
        let r = try certs("key", "new", "--out", s.file("plain/k.pem"))
        expectOneLineError(r, exit: 3)
        #expect(s.listing() == ["plain"])
        #expect(s.read("plain") == "not a directory\n")
    }

    @Test func outputThatIsADirectoryIsRefusedWithExit3() throws {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("d"), withIntermediateDirectories: false)
        let r = try certs("key", "new", "--out", s.file("d"))
        expectOneLineError(r, exit: 3)
        #expect(directoryListing(s.file("d")).isEmpty)
        #expect(s.listing() == ["d"])
    }

    @Test func keyIsNotWrittenThroughAPlantedSymlink() throws {
        let s = Scratch()
        let victim = s.write("victim", "precious\n")
        try FileManager.default.createSymbolicLink(atPath: s.file("k.pem"), withDestinationPath: victim)
        let r = try certs("key", "new", "--out", s.file("k.pem"))
        expectOneLineError(r, exit: 3, mentioning: "already exists")
        #expect(s.read("victim") == "precious\n")
        // With --force the link itself is replaced, the file it pointed at is untouched.
        let forced = try certs("key", "new", "--force", "--out", s.file("k.pem"))
        #expect(forced.status == 0, "stderr: \(forced.stderr)")
        #expect(s.read("victim") == "precious\n")
        let attrs = try FileManager.default.attributesOfItem(atPath: s.file("k.pem"))
        #expect(attrs[.type] as? FileAttributeType == .typeRegular)
        #expect(s.mode("k.pem") == 0o600)
        #expect(s.listing() == ["k.pem", "victim"])
    }

    @Test func derOutputIsPKCS8DERThatOpenSSLReadsAndCertsInspects() throws {
        let s = Scratch()
        #expect(try certs("key", "new", "--key-type", "rsa-2048", "--format", "der", "--out", s.file("k.der")).status == 0)
        #expect(s.mode("k.der") == 0o600)
        #expect(s.bytes("k.der").first == 0x30)  // a DER SEQUENCE, not text
        let check = try openssl("pkey", "-inform", "DER", "-in", s.file("k.der"), "-check", "-noout")
        #expect(check.status == 0, "\(check.stderr)")
        let i = try certs("inspect", "--json", s.file("k.der"))
        #expect(i.stdout.contains("\"encoding\": \"DER\""))
        #expect(i.stdout.contains("\"bits\": 2048"))
    }

    @Test func derCSRVerifiesWithOpenSSL() throws {
        let s = Scratch()
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--cn", "a.example", "--format", "der", "--out", s.file("r.der"))
        #expect(r.status == 0, "\(r.stderr)")
        let v = try openssl("req", "-inform", "DER", "-in", s.file("r.der"), "-verify", "-noout")
        #expect(v.status == 0, "\(v.stderr)")
        #expect(try openssl("pkey", "-inform", "DER", "-in", s.file("r.key"), "-check", "-noout").status == 0)
    }

    /// A correct `key new` is parsed against `KeyNew` alone (Certs.parse, for start-up); whatever
    /// asks ArgumentParser itself (help, also inside `-fh`; completion scripts) still gets the full
    /// tree's answer, naming `certs key new`, and writes no key.
    @Test func helpAndCompletionsOnAKeyNewCommandLineComeFromTheFullTree() throws {
        let s = Scratch()
        for extra in [["--help"], ["-h"], ["-fh"]] {
            let r = try certs(["key", "new", "--out", s.file("k.pem")] + extra)
            #expect(r.status == 0, "\(extra): \(r.stderr)")
            #expect(r.stdout.contains("USAGE: certs key new"), "\(extra): \(r.stdout.prefix(300))")
            #expect(!s.exists("k.pem"), "\(extra) wrote a key")
        }
        let completion = try certs("key", "new", "--out", s.file("k.pem"), "--generate-completion-script", "bash")
        #expect(completion.status == 0, "\(completion.stderr)")
        #expect(completion.stdout.contains("_certs"), "\(completion.stdout.prefix(300))")
        #expect(!s.exists("k.pem"))
        let unknown = try certs("key", "new", "--out", s.file("k.pem"), "--bogus")
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--bogus") && unknown.stderr.contains("certs key new --help"), "\(unknown.stderr)")
        #expect(!s.exists("k.pem"))
    }

    /// The usual `key new` line is read without ArgumentParser (KeyNew.DirectLine, for start-up):
    /// every spelling it takes means what the parser means, and what it does not take still gets
    /// the parser's answer.
    @Test func theDirectlyReadKeyNewLineMeansWhatTheParserMeans() throws {
        let s = Scratch()
        let der = try certs("key", "new", "--key-type=ed25519", "--out=\(s.file("k.der"))", "--format=der", "--json")
        #expect(der.status == 0, "\(der.stderr)")
        #expect(der.stdout.contains("\"type\" : \"ed25519\"") || der.stdout.contains("\"type\": \"ed25519\""), "\(der.stdout)")
        #expect(der.stdout.contains("der"), "\(der.stdout)")
        #expect(try opensslOK("pkey", "-inform", "DER", "-in", s.file("k.der"), "-text", "-noout").contains("ED25519 Private-Key:"))
        let alias = try certs("key", "new", "-o", s.file("k.pem"), "--key-type", "p384")
        #expect(alias.status == 0, "\(alias.stderr)")
        #expect(try opensslOK("pkey", "-in", s.file("k.pem"), "-text", "-noout").contains("NIST CURVE: P-384"))
        let refused = try certs("key", "new", "-o", s.file("k.pem"))
        #expect(refused.status == 3, "\(refused.stderr)")
        let forced = try certs("key", "new", "--force", "--format", "pem", "--out", s.file("k.pem"))
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try opensslOK("pkey", "-in", s.file("k.pem"), "-text", "-noout").contains("NIST CURVE: P-256"))
        let badType = try certs("key", "new", "--key-type=dsa", "--out", s.file("d.pem"))
        #expect(badType.status == 2 && badType.stderr.contains("ec-p256"), "\(badType.stderr)")
        let noOut = try certs("key", "new", "--key-type", "ec-p256")
        #expect(noOut.status == 2 && noOut.stderr.contains("--out"), "\(noOut.stderr)")
        let jsonToStdout = try certs("key", "new", "--json", "--out", "-")
        #expect(jsonToStdout.status == 2 && jsonToStdout.stderr.contains("--json and --out -"), "\(jsonToStdout.stderr)")
        #expect(!s.exists("d.pem"))
    }
}
