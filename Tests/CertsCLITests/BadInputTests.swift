import Foundation
import Testing

/// Every kind of bad input or unwritable output gives exactly one "error: " line on stderr, the
/// documented exit code (2 input, 3 output), no crash and no partial output file.
@Suite struct BadInputTests {
    /// Broken input files, made fresh in a scratch directory.
    enum BadFile: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case missingFile, directory, emptyFile, garbageBytes, garbageText, derLookingGarbage, truncatedPEM, truncatedDER,
             corruptBase64, unknownPEMLabel

        var testDescription: String { rawValue }

        /// Creates the input (in `in/`) and says what the one-line error should mention.
        func make(in s: Scratch) throws -> (path: String, mentioning: String?) {
            let dir = s.file("in")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let path = "\(dir)/input.pem"
            switch self {
            case .missingFile:
                return (path, "no such file")
            case .directory:
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                return (path, "directory")
            case .emptyFile:
                _ = s.write("in/input.pem", "")
                return (path, "empty")
            case .garbageBytes:
                var rng = SystemRandomNumberGenerator()
                _ = s.write("in/input.pem", bytes: [0x00, 0xff, 0x13] + (0..<2000).map { _ in UInt8.random(in: 0...255, using: &rng) })
                return (path, "not a PEM or DER")
            case .garbageText:
                _ = s.write("in/input.pem", "this is certainly not a certificate\nnor a key\n")
                return (path, "not a PEM or DER")
            case .derLookingGarbage:
                // An ASN.1 SEQUENCE header announcing more bytes than there are.
                _ = s.write("in/input.pem", bytes: [0x30, 0x82, 0x04, 0x00, 0x30, 0x82, 0x03, 0x00] + [UInt8](repeating: 0x41, count: 64))
                return (path, nil)
            case .truncatedPEM:
                let pem = try selfSignedPEM(in: s)
                _ = s.write("in/input.pem", String(pem.prefix(pem.count / 2)))
                return (path, "truncated")
            case .truncatedDER:
                _ = try selfSignedPEM(in: s)
                _ = try opensslOK("x509", "-in", s.file("self.pem"), "-outform", "DER", "-out", s.file("self.der"))
                let der = s.bytes("self.der")
                _ = s.write("in/input.pem", bytes: Array(der.prefix(der.count / 2)))
                return (path, nil)
            case .corruptBase64:
                let pem = try selfSignedPEM(in: s)
                var lines = pem.split(separator: "\n").map(String.init)
                lines[3] = String(repeating: "!", count: lines[3].count)
                _ = s.write("in/input.pem", lines.joined(separator: "\n") + "\n")
                return (path, "malformed")
            case .unknownPEMLabel:
                _ = s.write("in/input.pem", "-----BEGIN SOMETHING ODD-----\nAAAA\n-----END SOMETHING ODD-----\n")
                return (path, "SOMETHING ODD")
            }
        }

        func selfSignedPEM(in s: Scratch) throws -> String {
            _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                              "-keyout", s.file("self.key"), "-out", s.file("self.pem"), "-days", "2", "-subj", "/CN=bad.example")
            return s.read("self.pem")
        }
    }

    /// Asserts the shape of a failure and that the output directory stayed empty.
    func expectCleanFailure(_ r: RunResult, exit: Int32, mentioning: String?, outputs s: Scratch,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        expectOneLineError(r, exit: exit, mentioning: mentioning, sourceLocation: sourceLocation)
        expectNoCrash(r, sourceLocation: sourceLocation)
        #expect(r.stdout.isEmpty, "stdout: \(r.stdout)", sourceLocation: sourceLocation)
        #expect(directoryListing(s.file("out")).isEmpty, "left behind: \(directoryListing(s.file("out")))", sourceLocation: sourceLocation)
    }

    func scratchWithOutputDirectory() throws -> Scratch {
        let s = Scratch()
        try FileManager.default.createDirectory(atPath: s.file("out"), withIntermediateDirectories: false)
        return s
    }

    // MARK: inputs

    @Test(arguments: BadFile.allCases)
    func inspectRejectsBadInputWithExit2(_ bad: BadFile) throws {
        let s = try scratchWithOutputDirectory()
        let (path, fragment) = try bad.make(in: s)
        let r = try certs("inspect", path, cwd: s.file("out"))
        expectCleanFailure(r, exit: 2, mentioning: fragment, outputs: s)
        #expect(r.stderr.contains(path), "the error names the file: \(r.stderr)")
        // With --json the error is also a JSON document on stdout (issue 17; before, stdout was empty).
        let json = try certs("inspect", "--json", path, cwd: s.file("out"))
        expectOneLineError(json, exit: 2, mentioning: fragment)
        let error = try parseJSONObject(json.stdout)["error"] as? [String: Any]
        #expect(error?["code"] as? Int == 2 && error?["kind"] as? String == "input", "\(json.stdout)")
    }

    @Test(arguments: BadFile.allCases)
    func csrNewRejectsABadKeyFileWithExit2(_ bad: BadFile) throws {
        let s = try scratchWithOutputDirectory()
        let (path, fragment) = try bad.make(in: s)
        let r = try certs("csr", "new", "--key", path, "--cn", "a.example", "--out", s.file("out/r.csr"))
        expectCleanFailure(r, exit: 2, mentioning: fragment, outputs: s)
    }

    @Test(arguments: [BadFile.missingFile, .directory, .emptyFile])
    func keyNewRejectsABadPassphraseFileWithExit2(_ bad: BadFile) throws {
        let s = try scratchWithOutputDirectory()
        let (path, fragment) = try bad.make(in: s)
        let r = try certs("key", "new", "--encrypt", "--passphrase-file", path, "--out", s.file("out/k.pem"))
        expectCleanFailure(r, exit: 2, mentioning: fragment, outputs: s)
    }

    @Test func inspectOfEmptyStdinIsExit2() throws {
        let s = try scratchWithOutputDirectory()
        let r = try certs("inspect", "-", stdin: [])
        expectCleanFailure(r, exit: 2, mentioning: "stdin", outputs: s)
    }

    @Test func inspectRefusesAnOversizedFile() throws {
        let s = try scratchWithOutputDirectory()
        let big = s.write("big.pem", bytes: [UInt8](repeating: 0x41, count: 17 * 1024 * 1024))
        let r = try certs("inspect", big)
        expectCleanFailure(r, exit: 2, mentioning: "larger than", outputs: s)
    }

    @Test func aCertificateWhereAKeyIsExpectedIsExit2SayingWhatItHolds() throws {
        let s = try scratchWithOutputDirectory()
        _ = try BadFile.truncatedPEM.selfSignedPEM(in: s)
        let r = try certs("csr", "new", "--key", s.file("self.pem"), "--cn", "a.example", "--out", s.file("out/r.csr"))
        expectCleanFailure(r, exit: 2, mentioning: "is not a private key", outputs: s)
        #expect(r.stderr.contains("certificate"), "stderr: \(r.stderr)")
    }

    @Test func aCSRWhereAKeyIsExpectedIsExit2SayingWhatItHolds() throws {
        let s = try scratchWithOutputDirectory()
        _ = try opensslOK("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("k.pem"),
                          "-out", s.file("r.csr"), "-subj", "/CN=x.example")
        let r = try certs("csr", "new", "--key", s.file("r.csr"), "--cn", "a.example", "--out", s.file("out/r.csr"))
        expectCleanFailure(r, exit: 2, mentioning: "is not a private key", outputs: s)
        #expect(r.stderr.contains("certificate signing request"), "stderr: \(r.stderr)")
    }

    @Test func aPublicKeyWhereAPrivateKeyIsExpectedIsExit2() throws {
        let s = try scratchWithOutputDirectory()
        _ = try opensslOK("genpkey", "-algorithm", "ED25519", "-out", s.file("k.pem"))
        _ = try opensslOK("pkey", "-in", s.file("k.pem"), "-pubout", "-out", s.file("pub.pem"))
        let r = try certs("csr", "new", "--key", s.file("pub.pem"), "--cn", "a.example", "--out", s.file("out/r.csr"))
        expectCleanFailure(r, exit: 2, mentioning: "public key", outputs: s)
    }

    @Test func wrongPassphraseIsExit2ForInspectAndCSR() throws {
        let s = try scratchWithOutputDirectory()
        let pw = s.write("pw", "the-right-one\n")
        let bad = s.write("bad", "the-wrong-one\n")
        _ = try opensslOK("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "file:\(pw)",
                          "-out", s.file("enc.pem"))
        let inspect = try certs("inspect", "--passphrase-file", bad, s.file("enc.pem"))
        expectCleanFailure(inspect, exit: 2, mentioning: "wrong passphrase", outputs: s)
        let csr = try certs("csr", "new", "--key", s.file("enc.pem"), "--passphrase-file", bad, "--cn", "a.example", "--out", s.file("out/r.csr"))
        expectCleanFailure(csr, exit: 2, mentioning: "wrong passphrase", outputs: s)
        for r in [inspect, csr] { #expect(!r.stderr.contains("the-wrong-one") && !r.stderr.contains("the-right-one")) }
    }

    @Test func bothPassphraseSourcesAtOnceIsExit2() throws {
        let s = try scratchWithOutputDirectory()
        let pw = s.write("pw", "x\n")
        let r = try certs("key", "new", "--encrypt", "--passphrase-file", pw, "--passphrase-env", "PW", "--out", s.file("out/k.pem"),
                          environment: ["PW": "y"])
        expectCleanFailure(r, exit: 2, mentioning: "not both", outputs: s)
    }

    @Test(arguments: [
        ["key", "new", "--key-type", "rsa-1024", "--out", "OUT/k.pem"],
        ["csr", "new", "--key-type", "dsa-2048", "--cn", "a.example", "--out", "OUT/r.csr"],
        ["ca", "init", "--key-type", "x25519", "--store", "OUT/store"],
        ["ca", "issue", "--key-type", "rsa-512", "--store", "OUT/store", "a.example"],
    ])
    func unknownKeyTypeIsExit2(_ template: [String]) throws {
        let s = try scratchWithOutputDirectory()
        let args = template.map { $0.hasPrefix("OUT/") ? s.file("out/" + $0.dropFirst(4)) : $0 }
        let r = try certs(args)
        expectCleanFailure(r, exit: 2, mentioning: nil, outputs: s)
    }

    // MARK: outputs

    /// Output paths that cannot be created: under a missing directory, or under a regular file.
    /// (Tests run as root, so a chmod-555 directory would not stop a write.)
    static let unwritableParents = ["missing-dir", "regular-file"]

    func unwritableDirectory(_ kind: String, in s: Scratch) -> String {
        if kind == "regular-file" { return s.write("out/plain", "a regular file\n") }
        return s.file("out/missing-dir")
    }

    func expectUnwritable(_ r: RunResult, _ s: Scratch, kind: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectOneLineError(r, exit: 3, sourceLocation: sourceLocation)
        expectNoCrash(r, sourceLocation: sourceLocation)
        let expected = kind == "regular-file" ? ["plain"] : []
        #expect(directoryListing(s.file("out")) == expected, "left behind: \(directoryListing(s.file("out")))", sourceLocation: sourceLocation)
        if kind == "regular-file" { #expect(s.read("out/plain") == "a regular file\n", sourceLocation: sourceLocation) }
    }

    @Test(arguments: unwritableParents)
    func keyNewToAnUnwritableDirectoryIsExit3(_ kind: String) throws {
        let s = try scratchWithOutputDirectory()
        let dir = unwritableDirectory(kind, in: s)
        expectUnwritable(try certs("key", "new", "--out", "\(dir)/k.pem"), s, kind: kind)
    }

    @Test(arguments: unwritableParents)
    func csrNewWithKeyToAnUnwritableDirectoryIsExit3(_ kind: String) throws {
        let s = try scratchWithOutputDirectory()
        try certs("key", "new", "--out", s.file("k.pem"))
        let dir = unwritableDirectory(kind, in: s)
        expectUnwritable(try certs("csr", "new", "--key", s.file("k.pem"), "--cn", "a.example", "--out", "\(dir)/r.csr"), s, kind: kind)
    }

    @Test(arguments: unwritableParents)
    func csrNewWithNewKeyToAnUnwritableDirectoryIsExit3AndLeavesNoKey(_ kind: String) throws {
        let s = try scratchWithOutputDirectory()
        let dir = unwritableDirectory(kind, in: s)
        // Key next to the CSR…
        expectUnwritable(try certs("csr", "new", "--key-type", "ec-p256", "--cn", "a.example", "--out", "\(dir)/r.csr"), s, kind: kind)
        // …or the key somewhere writable and only the CSR's directory unwritable.
        let r = try certs("csr", "new", "--key-type", "ec-p256", "--key-out", s.file("out/new.key"), "--cn", "a.example", "--out", "\(dir)/r.csr")
        expectUnwritable(r, s, kind: kind)
    }

    @Test(arguments: unwritableParents)
    func caInitInAnUnwritableStoreIsExit3(_ kind: String) throws {
        let s = try scratchWithOutputDirectory()
        let dir = unwritableDirectory(kind, in: s)
        if kind == "regular-file" {
            expectUnwritable(try certs("ca", "init", "--store", "\(dir)/store"), s, kind: kind)
        } else {
            // A missing store directory is created (mkdir -p), like the default ./certs.
            let r = try certs("ca", "init", "--store", "\(dir)/store")
            #expect(r.status == 0, "stderr: \(r.stderr)")
        }
    }

    @Test func caIssueIntoAStoreWhoseLiveIsARegularFileIsExit3() throws {
        let s = try scratchWithOutputDirectory()
        let store = s.file("out/store")
        #expect(try certs("ca", "init", "--store", store).status == 0)
        _ = s.write("out/store/live", "not a directory\n")
        let r = try certs("ca", "issue", "--store", store, "a.example")
        expectOneLineError(r, exit: 3)
        expectNoCrash(r)
        #expect(s.read("out/store/live") == "not a directory\n")
        #expect(directoryListing(store).filter { $0 != "archive" } == ["ca", "live"])
    }
}
