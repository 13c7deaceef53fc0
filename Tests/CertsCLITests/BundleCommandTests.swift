import Foundation
import Testing

/// What a CA sends for a bought certificate, made with `certs ca` (the "CA") and the openssl CLI
/// (the formats): leaf, its key, the intermediate and the root as PEM files in the scratch dir.
struct BoughtCertificate {
    let s: Scratch
    let caStore: String
    let host: String
    var leaf: String { s.file("\(host).crt") }
    var key: String { s.file("\(host).key") }
    var intermediate: String { s.file("\(prefix)intermediate.crt") }
    var root: String { s.file("\(prefix)root.crt") }
    let prefix: String

    /// A CA (once per `caName`) and a certificate for `host` issued by it.
    static func make(_ s: Scratch, host: String = "www.shop.example", caName: String = "ca", days: Int = 90, validFrom: String? = nil) throws -> BoughtCertificate {
        let caStore = s.file(caName)
        if !FileManager.default.fileExists(atPath: "\(caStore)/ca/root.pem") {
            let r = try certs("ca", "init", "--store", caStore, "--name", "\(caName) Trust Services")
            #expect(r.status == 0, "ca init: \(r.stderr)")
        }
        var args = ["ca", "issue", "--store", caStore, "--days", String(days), host]
        if let validFrom { args += ["--valid-from", validFrom] }
        let r = try certs(args)
        #expect(r.status == 0, "ca issue: \(r.stderr)")
        let b = BoughtCertificate(s: s, caStore: caStore, host: host, prefix: "\(caName)-")
        try copy("\(caStore)/live/\(host)/cert.pem", b.leaf)
        try copy("\(caStore)/live/\(host)/privkey.pem", b.key)
        if !FileManager.default.fileExists(atPath: b.root) {
            try copy("\(caStore)/ca/intermediate.pem", b.intermediate)
            try copy("\(caStore)/ca/root.pem", b.root)
        }
        return b
    }

    static func copy(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Concatenates files into one (a "CA bundle").
    func concatenate(_ files: [String], into name: String) -> String {
        s.write(name, files.map { (try? String(contentsOfFile: $0, encoding: .utf8)) ?? "" }.joined())
    }

    func der(_ pem: String, _ name: String) throws -> String {
        let out = s.file(name)
        let r = try openssl("x509", "-in", pem, "-outform", "DER", "-out", out)
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    /// A DER .p7b holding `files`' certificates, as CAs send them.
    func p7b(_ files: [String], _ name: String) throws -> String {
        let out = s.file(name)
        let r = try run("/usr/bin/openssl", ["crl2pkcs7", "-nocrl"] + files.flatMap { ["-certfile", $0] } + ["-outform", "DER", "-out", out])
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    /// A .pfx with the key, the leaf and the intermediate, protected by `passphrase`.
    /// `legacy`: RC2-40 and a SHA-1 MAC, as older Windows and OpenSSL 1.x export them.
    func pfx(_ name: String, passphrase: String, legacy: Bool = false) throws -> String {
        let out = s.file(name)
        let r = try run("/usr/bin/openssl", ["pkcs12", "-export", "-inkey", key, "-in", leaf, "-certfile", intermediate,
                                             "-passout", "pass:\(passphrase)", "-out", out] + (legacy ? ["-legacy"] : []))
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }
}

/// The PEM blocks of a text, in order.
func pemCertificates(_ text: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring] = []
    for line in text.split(separator: "\n") {
        if line.hasPrefix("-----BEGIN CERTIFICATE") { current = [line]; continue }
        if !current.isEmpty { current.append(line) }
        if line.hasPrefix("-----END CERTIFICATE") { blocks.append(current.joined(separator: "\n") + "\n"); current = [] }
    }
    return blocks
}

/// `openssl x509 -fingerprint -sha256` of one PEM certificate (text) or of a file.
func sha256Fingerprint(pem: String) throws -> String {
    let r = try openssl("x509", "-noout", "-fingerprint", "-sha256", stdin: Array(pem.utf8))
    return r.status == 0 ? r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "unreadable: \(r.stderr)"
}

func sha256Fingerprint(file: String) throws -> String {
    try sha256Fingerprint(pem: (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
}

/// Fingerprints of every certificate in a PEM file, in order.
func fingerprints(ofPEMFile file: String) throws -> [String] {
    try pemCertificates((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").map { try sha256Fingerprint(pem: $0) }
}

/// `openssl verify -CAfile root -untrusted chain cert` on PEM texts; returns (ok, output).
func opensslVerify(root: String, chain: [String], leaf: String, in s: Scratch) throws -> (Bool, String) {
    let chainFile = s.write("verify-chain-\(UUID().uuidString.prefix(6)).pem", chain.joined())
    let leafFile = s.write("verify-leaf-\(UUID().uuidString.prefix(6)).pem", leaf)
    var args = ["verify", "-CAfile", root]
    if !chain.isEmpty { args += ["-untrusted", chainFile] }
    let r = try run("/usr/bin/openssl", args + [leafFile])
    return (r.status == 0, r.stdout + r.stderr)
}

@Suite struct BundleCommandTests {
    @Test func aReversedBundlePlusADERLeafComesOutAsLeafThenIntermediateWithoutTheRoot() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let reversed = b.concatenate([b.root, b.intermediate], into: "ca-bundle.crt")
        let leafDER = try b.der(b.leaf, "www.der")
        let r = try certs("bundle", reversed, leafDER)
        #expect(r.status == 0, "\(r.stderr)")
        let out = pemCertificates(r.stdout)
        #expect(out.count == 2)
        #expect(try out.map { try sha256Fingerprint(pem: $0) } == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)])
        let (ok, text) = try opensslVerify(root: b.root, chain: Array(out.dropFirst()), leaf: out[0], in: s)
        #expect(ok, "\(text)")
        #expect(r.stderr.contains("root:") && r.stderr.contains("not sent"), "\(r.stderr)")
    }

    @Test func duplicatesAndAnotherCAsCertificatesAreDroppedAndNamed() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let other = try BoughtCertificate.make(s, host: "other.example", caName: "otherca")
        let pile = b.concatenate([other.intermediate, b.intermediate, b.leaf, other.root, b.intermediate], into: "pile.pem")
        let r = try certs("bundle", pile, b.leaf, "--out", s.file("fullchain.pem"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try fingerprints(ofPEMFile: s.file("fullchain.pem")) == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)])
        let dropped = r.stderrLines.filter { $0.hasPrefix("dropped:") }
        #expect(dropped.count == 4, "\(r.stderr)")
        #expect(dropped.filter { $0.contains("(duplicate)") }.count == 2, "\(r.stderr)")
        #expect(dropped.contains { $0.contains("otherca Trust Services intermediate") && $0.contains("not part of this chain") }, "\(r.stderr)")
        #expect(dropped.contains { $0.contains("otherca Trust Services root") && $0.contains("not part of this chain") }, "\(r.stderr)")
    }

    @Test func theJSONReportListsWhatWasDroppedAndWhy() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let other = try BoughtCertificate.make(s, host: "other.example", caName: "otherca")
        let r = try certs("bundle", b.leaf, b.intermediate, b.leaf, other.root, "--json")
        #expect(r.status == 0, "\(r.stderr)")
        let json = try parseJSONObject(r.stdout)
        #expect(r.stdout.hasPrefix("{\n  \"version\": 1,"))
        #expect(json["complete"] as? Bool == true)
        let reasons = (json["dropped"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons.sorted() == ["duplicate", "unrelated"])
        #expect((json["intermediates"] as? [Any])?.count == 1)
        #expect(pemCertificates(json["pem"] as? String ?? "").count == 2)
        #expect(json["missingIssuer"] is NSNull)
    }

    @Test func aLeafWithoutItsIntermediateNamesTheMissingIssuerExitsOneAndWritesNothing() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let r = try certs("bundle", b.leaf, "--out", s.file("fullchain.pem"))
        expectOneLineError(r, exit: 1, mentioning: "\"CN=ca Trust Services intermediate, O=ca Trust Services\"")
        #expect(r.stderr.contains("missing intermediate"), "\(r.stderr)")
        #expect(!s.exists("fullchain.pem"))
        #expect(r.stdout.isEmpty)
    }

    @Test func theMissingIssuersDownloadURLIsGivenWhenTheLeafHasOne() throws {
        let s = Scratch()
        // An issuing CA made with openssl, and a leaf whose AIA says where the CA's certificate is.
        _ = try openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("ica.key"),
                        "-out", s.file("ica.pem"), "-subj", "/O=Example CA/CN=Example Issuing CA 7", "-days", "30",
                        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
        _ = try openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("leaf.key"),
                        "-out", s.file("leaf.csr"), "-subj", "/CN=aia.example")
        let ext = s.write("leaf.ext", "authorityInfoAccess=caIssuers;URI:http://ca.example/issuing7.crt\nsubjectAltName=DNS:aia.example\n")
        let signed = try openssl("x509", "-req", "-in", s.file("leaf.csr"), "-CA", s.file("ica.pem"), "-CAkey", s.file("ica.key"),
                                 "-days", "10", "-extfile", ext, "-out", s.file("leaf.pem"))
        #expect(signed.status == 0, "\(signed.stderr)")
        let r = try certs("bundle", s.file("leaf.pem"))
        expectOneLineError(r, exit: 1, mentioning: "http://ca.example/issuing7.crt")
        #expect(r.stderr.contains("Example Issuing CA 7"))
        let j = try certs("bundle", s.file("leaf.pem"), "--json")
        #expect(j.status == 1)
        let missing = try parseJSONObject(j.stdout)["missingIssuer"] as? [String: Any]
        #expect(missing?["caIssuersURL"] as? String == "http://ca.example/issuing7.crt")
        #expect(missing?["issuer"] as? String == "CN=Example Issuing CA 7, O=Example CA")
    }

    @Test func includeRootAppendsTheRootLast() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let r = try certs("bundle", b.root, b.intermediate, b.leaf, "--include-root")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pemCertificates(r.stdout).map { try sha256Fingerprint(pem: $0) }
                == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate), try sha256Fingerprint(file: b.root)])
    }

    @Test func aP7BAndAPFXAreReadLikePEM() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let p7b = try b.p7b([b.intermediate, b.leaf], "order.p7b")
        let r1 = try certs("bundle", p7b)
        #expect(r1.status == 0, "\(r1.stderr)")
        #expect(try pemCertificates(r1.stdout).map { try sha256Fingerprint(pem: $0) } == [try sha256Fingerprint(file: b.leaf), try sha256Fingerprint(file: b.intermediate)])
        let pfx = try b.pfx("www.pfx", passphrase: "attach ment")
        let r2 = try certs("bundle", pfx, "--passphrase-env", "PFX_PASS", environment: ["PFX_PASS": "attach ment"])
        #expect(r2.status == 0, "\(r2.stderr)")
        #expect(pemCertificates(r2.stdout).count == 2)
        #expect(!r2.stdout.contains("PRIVATE KEY"))
    }

    @Test func outIsWrittenMode0644AndNotReplacedWithoutForce() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        let out = s.file("fullchain.pem")
        let r = try shell("umask 077; exec \(shQuote(certsBinary)) bundle \(shQuote(b.leaf)) \(shQuote(b.intermediate)) --out \(shQuote(out))")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(s.mode("fullchain.pem") == 0o644)
        let again = try certs("bundle", b.leaf, b.intermediate, "--out", out)
        expectOneLineError(again, exit: 3, mentioning: "--force")
        let forced = try certs("bundle", b.leaf, b.intermediate, b.root, "--include-root", "--out", out, "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try fingerprints(ofPEMFile: out).count == 3)
        #expect(!s.listing().contains { $0.contains(".tmp-") })
    }

    @Test func twoLeavesNeedTheKeyWhichPicksTheRightOne() throws {
        let s = Scratch()
        let www = try BoughtCertificate.make(s)
        let api = try BoughtCertificate.make(s, host: "api.shop.example")
        let ambiguous = try certs("bundle", www.leaf, api.leaf, www.intermediate)
        expectOneLineError(ambiguous, exit: 2, mentioning: "--key")
        let r = try certs("bundle", www.leaf, api.leaf, www.intermediate, "--key", api.key)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try pemCertificates(r.stdout).first.map { try sha256Fingerprint(pem: $0) } == (try sha256Fingerprint(file: api.leaf)))
        #expect(r.stderr.contains("dropped:") && r.stderr.contains("www.shop.example"), "\(r.stderr)")
    }

    @Test func aKeyForNoneOfTheCertificatesIsRefused() throws {
        let s = Scratch()
        let b = try BoughtCertificate.make(s)
        _ = try certs("key", "new", "--out", s.file("stranger.key"))
        let r = try certs("bundle", b.leaf, b.intermediate, "--key", s.file("stranger.key"))
        expectOneLineError(r, exit: 2, mentioning: "does not match")
        #expect(r.stdout.isEmpty)
    }

    @Test func aFileWithoutCertificatesIsBadInput() throws {
        let s = Scratch()
        let junk = s.write("notes.txt", "please find attached your certificate\n")
        let r = try certs("bundle", junk)
        expectOneLineError(r, exit: 2, mentioning: "notes.txt")
    }
}
