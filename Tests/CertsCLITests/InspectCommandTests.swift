import Foundation
import Testing

/// `certs inspect` reads what the openssl CLI writes, and reports what openssl itself reports.
@Suite struct InspectCommandTests {
    // MARK: helpers

    func inspectJSON(_ args: [String], environment: [String: String] = [:], stdin: [UInt8]? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = try certs(["inspect", "--json"] + args, environment: environment, stdin: stdin)
        #expect(r.status == 0, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        // Version 2: one document, {version, files, errors}, whatever the number of files.
        let doc = try parseJSONObject(r.stdout, sourceLocation: sourceLocation)
        #expect(doc["version"] as? Int == 2, sourceLocation: sourceLocation)
        #expect((doc["errors"] as? [Any])?.isEmpty == true, sourceLocation: sourceLocation)
        let files = doc["files"] as? [[String: Any]] ?? []
        #expect(files.count == 1, "\(r.stdout)", sourceLocation: sourceLocation)
        return files.first ?? [:]
    }

    /// The one file object of a version-2 `inspect --json` document.
    func fileJSON(_ stdout: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let doc = try parseJSONObject(stdout, sourceLocation: sourceLocation)
        #expect(doc["version"] as? Int == 2, sourceLocation: sourceLocation)
        return try #require((doc["files"] as? [[String: Any]])?.first, "\(stdout)", sourceLocation: sourceLocation)
    }

    func certificates(_ doc: [String: Any]) -> [[String: Any]] { doc["certificates"] as? [[String: Any]] ?? [] }
    func keys(_ doc: [String: Any]) -> [[String: Any]] { doc["keys"] as? [[String: Any]] ?? [] }

    /// One `openssl x509 -noout <option>` value, after "name=".
    func x509Value(_ pem: String, _ options: String...) throws -> String {
        let out = try run("/usr/bin/openssl", ["x509", "-in", pem, "-noout"] + options).stdout
        guard let eq = out.firstIndex(of: "=") else { return out }
        return String(out[out.index(after: eq)...]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The value line of a `openssl x509 -ext NAME` section, or nil when absent.
    func x509Extension(_ pem: String, _ name: String) throws -> String? {
        let lines = try run("/usr/bin/openssl", ["x509", "-in", pem, "-noout", "-ext", name]).stdout.split(separator: "\n")
        return lines.count >= 2 ? lines[1].trimmingCharacters(in: .whitespaces) : nil
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo, computed by openssl.
    func opensslPublicKeySHA256(certificate pem: String) throws -> String {
        try shell("openssl x509 -in \(shQuote(pem)) -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r")
            .stdout.split(separator: " ").first.map(String.init) ?? ""
    }

    func opensslPublicKeySHA256(key path: String, passin: String? = nil) throws -> String {
        let pass = passin.map { " -passin \(shQuote($0))" } ?? ""
        return try shell("openssl pkey -in \(shQuote(path))\(pass) -pubout -outform DER | openssl dgst -sha256 -r")
            .stdout.split(separator: " ").first.map(String.init) ?? ""
    }

    /// Checks one reported certificate against openssl's view of the PEM file it came from.
    func expectCertificate(_ c: [String: Any], matches pem: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect((c["serial"] as? String) == (try x509Value(pem, "-serial")).lowercased(), sourceLocation: sourceLocation)
        let fp = try x509Value(pem, "-fingerprint", "-sha256").replacingOccurrences(of: ":", with: "").lowercased()
        #expect(fp.count == 64, sourceLocation: sourceLocation)
        #expect((c["sha256Fingerprint"] as? String) == fp, sourceLocation: sourceLocation)
        let notAfter = try x509Value(pem, "-enddate", "-dateopt", "iso_8601").replacingOccurrences(of: " ", with: "T")
        let notBefore = try x509Value(pem, "-startdate", "-dateopt", "iso_8601").replacingOccurrences(of: " ", with: "T")
        #expect((c["notAfter"] as? String) == notAfter, sourceLocation: sourceLocation)
        #expect((c["notBefore"] as? String) == notBefore, sourceLocation: sourceLocation)
        #expect((c["subjectKeyIdentifier"] as? String) == (try x509Extension(pem, "subjectKeyIdentifier")), sourceLocation: sourceLocation)
        #expect((c["authorityKeyIdentifier"] as? String) == (try x509Extension(pem, "authorityKeyIdentifier")), sourceLocation: sourceLocation)
        let key = c["key"] as? [String: Any]
        #expect((key?["publicKeySHA256"] as? String) == (try opensslPublicKeySHA256(certificate: pem)), sourceLocation: sourceLocation)
        let text = try opensslOK("x509", "-in", pem, "-noout", "-text")
        if let alg = c["signatureAlgorithm"] as? String {
            #expect(text.contains("Signature Algorithm: \(alg)\n"), "\(alg)", sourceLocation: sourceLocation)
        } else {
            Issue.record("no signatureAlgorithm", sourceLocation: sourceLocation)
        }
        if let bits = key?["bits"] as? Int {
            #expect(text.contains("Public-Key: (\(bits) bit)") || text.contains("ED25519 Public-Key"), sourceLocation: sourceLocation)
        }
    }

    /// A self-signed certificate made by `openssl req -x509` (EC P-256, CA:TRUE by openssl's default config).
    func selfSigned(in s: Scratch, days: Int = 30) throws -> String {
        _ = try opensslOK("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                          "-keyout", s.file("self.key"), "-out", s.file("self.pem"), "-days", String(days),
                          "-subj", "/O=Self Org/CN=self.example",
                          "-addext", "subjectAltName=DNS:self.example,IP:10.1.2.3")
        return s.file("self.pem")
    }

    /// The output of inspecting a private key (text and JSON) must not hold a line of its body.
    func expectNoKeyMaterial(in outputs: [String], unencryptedKeyPEM: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = pemBodyLines(unencryptedKeyPEM)
        #expect(!lines.isEmpty, "no key body to compare", sourceLocation: sourceLocation)
        for output in outputs {
            #expect(!output.contains("PRIVATE KEY-----"), sourceLocation: sourceLocation)
            for line in lines {
                #expect(!output.contains(line), "key material in output", sourceLocation: sourceLocation)
            }
        }
    }

    // MARK: certificates

    @Test func selfSignedCertificateFromOpenSSLIsReportedAsOpenSSLSeesIt() throws {
        let s = Scratch()
        let pem = try selfSigned(in: s)
        let doc = try inspectJSON([pem])
        #expect(doc["source"] as? String == pem)
        #expect(doc["encoding"] as? String == "PEM")
        let list = certificates(doc)
        try #require(list.count == 1)
        let c = list[0]
        try expectCertificate(c, matches: pem)
        #expect(c["role"] as? String == "root")
        #expect(c["subject"] as? String == "CN=self.example, O=Self Org")
        #expect(c["issuer"] as? String == "CN=self.example, O=Self Org")
        #expect(c["subjectAltNames"] as? [String] == ["DNS:self.example", "IP:10.1.2.3"])
        #expect(c["isCA"] as? Bool == true)
        #expect(c["signatureAlgorithm"] as? String == "ecdsa-with-SHA256")
        let key = c["key"] as? [String: Any]
        #expect(key?["type"] as? String == "EC")
        #expect(key?["bits"] as? Int == 256)
        #expect(key?["curve"] as? String == "P-256")
        #expect(c["expired"] as? Bool == false)
        #expect((c["daysLeft"] as? Int).map { (29...30).contains($0) } == true)
    }

    @Test func textOutputShowsSerialFingerprintAndDatesAsOpenSSLPrintsThem() throws {
        let s = Scratch()
        let pem = try selfSigned(in: s)
        let r = try certs("inspect", pem)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdout.contains("serial:"))
        #expect(r.stdout.lowercased().contains(try x509Value(pem, "-serial").lowercased()))
        #expect(r.stdout.contains(try x509Value(pem, "-fingerprint", "-sha256")))
        #expect(r.stdout.contains(try x509Value(pem, "-enddate", "-dateopt", "iso_8601").replacingOccurrences(of: " ", with: "T")))
        #expect(r.stdout.contains("DNS:self.example, IP:10.1.2.3"))
        #expect(r.stdout.contains("EC P-256"))
        #expect(r.stdout.contains(try x509Extension(pem, "subjectKeyIdentifier") ?? "<none>"))
    }

    @Test func derCertificateIsReadAndReportedAsDER() throws {
        let s = Scratch()
        let pem = try selfSigned(in: s)
        _ = try opensslOK("x509", "-in", pem, "-outform", "DER", "-out", s.file("self.der"))
        let doc = try inspectJSON([s.file("self.der")])
        #expect(doc["encoding"] as? String == "DER")
        let list = certificates(doc)
        try #require(list.count == 1)
        try expectCertificate(list[0], matches: pem)
    }

    @Test func bundleOfThreeListsEveryCertificateInOrderWithRoles() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        let doc = try inspectJSON([chain.bundle])
        let list = certificates(doc)
        try #require(list.count == 3)
        #expect(list.map { $0["index"] as? Int } == [0, 1, 2])
        #expect(list.map { $0["role"] as? String } == ["leaf", "intermediate", "root"])
        #expect(list.map { $0["issuedByNext"] as? Bool } == [true, true, nil])
        try expectCertificate(list[0], matches: chain.leaf)
        try expectCertificate(list[1], matches: chain.intermediate)
        try expectCertificate(list[2], matches: chain.root)

        let leaf = list[0], int = list[1], root = list[2]
        #expect(leaf["subject"] as? String == "CN=leaf.example")
        #expect(leaf["issuer"] as? String == "CN=Test Intermediate")
        #expect(leaf["serial"] as? String == "ab01")
        #expect(leaf["subjectAltNames"] as? [String] == ["DNS:leaf.example", "DNS:www.leaf.example", "IP:192.0.2.7", "IP:2001:db8::7"])
        #expect(leaf["isCA"] as? Bool == false)
        #expect(leaf["keyUsage"] as? [String] == ["digitalSignature", "keyEncipherment"])
        #expect(leaf["extendedKeyUsage"] as? [String] == ["serverAuth", "clientAuth"])
        let leafKey = leaf["key"] as? [String: Any]
        #expect(leafKey?["type"] as? String == "RSA")
        #expect(leafKey?["bits"] as? Int == 2048)
        #expect(leafKey?["curve"] is NSNull)
        #expect(leaf["authorityKeyIdentifier"] as? String == int["subjectKeyIdentifier"] as? String)
        #expect(int["authorityKeyIdentifier"] as? String == root["subjectKeyIdentifier"] as? String)
        #expect(int["isCA"] as? Bool == true)
        #expect(int["pathLength"] as? Int == 0)
        #expect(int["keyUsage"] as? [String] == ["keyCertSign", "cRLSign"])
        #expect(int["extendedKeyUsage"] is NSNull)
        #expect(root["isCA"] as? Bool == true)

        // openssl agrees on what the leaf's extensions say.
        #expect(try x509Extension(chain.leaf, "extendedKeyUsage") == "TLS Web Server Authentication, TLS Web Client Authentication")
        #expect(try x509Extension(chain.leaf, "keyUsage") == "Digital Signature, Key Encipherment")
        #expect(try x509Extension(chain.leaf, "basicConstraints") == "CA:FALSE")

        let text = try certs("inspect", chain.bundle)
        #expect(text.status == 0)
        let headers = text.stdout.split(separator: "\n").filter { $0.hasPrefix(chain.bundle + ":") }
        #expect(headers == ["\(chain.bundle): certificate 1 of 3 (leaf)", "\(chain.bundle): certificate 2 of 3 (intermediate)",
                            "\(chain.bundle): certificate 3 of 3 (root)"].map { Substring($0) })
        #expect(text.stdout.contains("extended key usage: serverAuth, clientAuth"))
    }

    @Test func outOfOrderBundleIsFlagged() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        let swapped = s.write("swapped.pem", s.read("root.pem") + s.read("leaf.pem"))
        let doc = try inspectJSON([swapped])
        #expect(certificates(doc).map { $0["issuedByNext"] as? Bool } == [false, nil])
        _ = chain
    }

    @Test func jsonHasEveryDocumentedFieldWithItsType() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        let doc = try inspectJSON([chain.bundle])
        #expect(doc["source"] is String)
        #expect(doc["encoding"] is String)
        #expect(doc["requests"] is [Any])
        #expect(doc["keys"] is [Any])
        let c = try #require(certificates(doc).first)
        for field in ["role", "subject", "issuer", "serial", "notBefore", "notAfter", "signatureAlgorithm", "sha256Fingerprint",
                      "subjectKeyIdentifier", "authorityKeyIdentifier"] {
            #expect(c[field] is String, "\(field)")
        }
        #expect(c["index"] is Int)
        #expect(c["daysLeft"] is Int)
        #expect(c["expired"] is Bool)
        #expect(c["isCA"] is Bool)
        #expect(c["subjectAltNames"] is [String])
        #expect(c["keyUsage"] is [String])
        #expect(c["extendedKeyUsage"] is [String])
        let key = try #require(c["key"] as? [String: Any])
        #expect(key["type"] is String)
        #expect(key["bits"] is Int)
        #expect(key.keys.contains("curve"))
        let spki = try #require(key["publicKeySHA256"] as? String)
        #expect(spki.count == 64 && spki.allSatisfy { "0123456789abcdef".contains($0) })
        for time in [c["notBefore"], c["notAfter"]] {
            let t = try #require(time as? String)
            #expect(ISO8601DateFormatter().date(from: t) != nil, "\(t) is not RFC 3339")
        }
        // "version" is the first field of the document as written.
        let r = try certs("inspect", "--json", chain.bundle)
        #expect(r.stdout.hasPrefix("{\n  \"version\": 2,"))
        // Booleans are JSON true/false, not 0/1 (Foundation on Linux would accept either as Bool).
        for field in ["expired", "notYetValid", "isCA"] {
            #expect(r.stdout.contains("\"\(field)\": false") || r.stdout.contains("\"\(field)\": true"), "\(field)")
        }
    }

    @Test func oneFileAndSeveralFilesGiveTheSameDocumentShape() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        let one = try parseJSONObject(try certs("inspect", "--json", chain.leaf).stdout)
        let r = try certs("inspect", "--json", chain.root, chain.leaf)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let many = try parseJSONObject(r.stdout)
        #expect(Set(one.keys) == ["version", "files", "errors"] && Set(many.keys) == Set(one.keys))
        let files = try #require(many["files"] as? [[String: Any]])
        #expect(files.map { $0["source"] as? String } == [chain.root, chain.leaf])
        #expect(Set(files[1].keys) == Set(try #require((one["files"] as? [[String: Any]])?.first).keys))
    }

    @Test func aFileThatCannotBeReadIsNamedInTheSameDocument() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        let bad = s.write("bad.pem", "not a certificate\n")
        let r = try certs("inspect", "--json", chain.leaf, bad)
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("bad.pem"), "\(r.stderr)")
        let doc = try parseJSONObject(r.stdout)  // exactly one JSON document on stdout
        #expect((doc["files"] as? [[String: Any]])?.map { $0["source"] as? String } == [chain.leaf])
        let errors = try #require(doc["errors"] as? [[String: Any]])
        #expect(errors.count == 1 && errors[0]["source"] as? String == bad)
        #expect((errors[0]["message"] as? String)?.contains("not a PEM or DER") == true, "\(errors)")
    }

    @Test func stdinIsReadWhenTheFileIsDash() throws {
        let s = Scratch()
        let pem = try selfSigned(in: s)
        let doc = try inspectJSON(["-"], stdin: s.bytes("self.pem"))
        #expect(doc["source"] as? String == "stdin")
        try expectCertificate(try #require(certificates(doc).first), matches: pem)
    }

    @Test func atChangesDaysLeftAndExpiry() throws {
        let s = Scratch()
        let pem = try selfSigned(in: s, days: 30)
        let notAfterText = try x509Value(pem, "-enddate", "-dateopt", "iso_8601").replacingOccurrences(of: " ", with: "T")
        let notAfter = Int64(try #require(ISO8601DateFormatter().date(from: notAfterText)).timeIntervalSince1970)
        func days(at: String) throws -> (Int?, Bool?) {
            let c = try #require(certificates(try inspectJSON(["--at", at, pem])).first)
            return (c["daysLeft"] as? Int, c["expired"] as? Bool)
        }
        #expect(try days(at: String(notAfter - 5 * 86400)) == (5, false))
        #expect(try days(at: String(notAfter - 5 * 86400 + 1)) == (4, false))
        #expect(try days(at: String(notAfter + 86400)) == (-1, true))
        let rfc = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(notAfter - 12 * 86400)))
        #expect(try days(at: rfc) == (12, false))
        let text = try certs("inspect", "--at", String(notAfter + 3 * 86400), pem)
        #expect(text.stdout.contains("EXPIRED 3 days ago"), "\(text.stdout)")
        expectOneLineError(try certs("inspect", "--at", "yesterday-ish", pem), exit: 2, mentioning: "--at")
    }

    // MARK: requests

    @Test func csrFromOpenSSLReqNewIsReported() throws {
        let s = Scratch()
        _ = try opensslOK("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", s.file("k.pem"), "-out", s.file("r.csr"),
                          "-subj", "/C=DE/O=Req Org/CN=req.example", "-addext", "subjectAltName=DNS:req.example,IP:2001:db8:0:0:0:0:0:5")
        let doc = try inspectJSON([s.file("r.csr")])
        #expect(certificates(doc).isEmpty)
        #expect(keys(doc).isEmpty)
        let reqs = try #require(doc["requests"] as? [[String: Any]])
        try #require(reqs.count == 1)
        let q = reqs[0]
        #expect(q["subject"] as? String == "CN=req.example, O=Req Org, C=DE")
        #expect(q["commonName"] as? String == "req.example")
        #expect(q["subjectAltNames"] as? [String] == ["DNS:req.example", "IP:2001:db8::5"])
        #expect(q["signatureAlgorithm"] as? String == "sha256WithRSAEncryption")
        #expect(q["signatureValid"] as? Bool == true)
        let key = q["key"] as? [String: Any]
        #expect(key?["type"] as? String == "RSA")
        #expect(key?["bits"] as? Int == 2048)
        #expect(key?["publicKeySHA256"] as? String == (try opensslPublicKeySHA256(key: s.file("k.pem"))))
        let text = try certs("inspect", s.file("r.csr"))
        #expect(text.stdout.contains("certificate signing request"))
        #expect(text.stdout.contains("(valid)"))
    }

    @Test func csrWithABrokenSignatureIsReportedInvalid() throws {
        let s = Scratch()
        _ = try opensslOK("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("k.pem"),
                          "-outform", "DER", "-out", s.file("r.der"), "-subj", "/CN=sig.example")
        var der = s.bytes("r.der")
        // Flip a bit in the subject's CN value ("sig.example" → "sIg.example").
        let needle = Array("sig.example".utf8)
        let at = try #require((0...(der.count - needle.count)).first { Array(der[$0..<($0 + needle.count)]) == needle })
        der[at + 1] ^= 0x20
        _ = s.write("bad.der", bytes: der)
        let doc = try inspectJSON([s.file("bad.der")])
        let q = try #require((doc["requests"] as? [[String: Any]])?.first)
        #expect(q["commonName"] as? String == "sIg.example")
        #expect(q["signatureValid"] as? Bool == false)
    }

    // MARK: keys

    @Test func traditionalRSAPrivateKeyIsDescribedNeverShown() throws {
        let s = Scratch()
        _ = try opensslOK("genrsa", "-traditional", "-out", s.file("rsa.pem"), "2048")
        #expect(s.read("rsa.pem").hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
        let json = try certs("inspect", "--json", s.file("rsa.pem"))
        let text = try certs("inspect", s.file("rsa.pem"))
        #expect(json.status == 0 && text.status == 0, "\(json.stderr) \(text.stderr)")
        let k = try #require(keys(try fileJSON(json.stdout)).first)
        #expect(k["kind"] as? String == "private")
        let key = k["key"] as? [String: Any]
        #expect(key?["type"] as? String == "RSA")
        #expect(key?["bits"] as? Int == 2048)
        #expect(key?["publicKeySHA256"] as? String == (try opensslPublicKeySHA256(key: s.file("rsa.pem"))))
        #expect(text.stdout.contains("private key"))
        #expect(text.stdout.contains("RSA 2048 bits"))
        expectNoKeyMaterial(in: [json.stdout, text.stdout, json.stderr, text.stderr], unencryptedKeyPEM: s.read("rsa.pem"))
    }

    @Test func traditionalECPrivateKeyWithParametersBlockIsDescribedNeverShown() throws {
        let s = Scratch()
        _ = try opensslOK("ecparam", "-genkey", "-name", "prime256v1", "-out", s.file("ec.pem"))
        #expect(s.read("ec.pem").contains("-----BEGIN EC PRIVATE KEY-----"))
        let json = try certs("inspect", "--json", s.file("ec.pem"))
        let text = try certs("inspect", s.file("ec.pem"))
        #expect(json.status == 0 && text.status == 0, "\(json.stderr) \(text.stderr)")
        let k = try #require(keys(try fileJSON(json.stdout)).first)
        let key = k["key"] as? [String: Any]
        #expect(key?["type"] as? String == "EC")
        #expect(key?["curve"] as? String == "P-256")
        #expect(key?["bits"] as? Int == 256)
        #expect(key?["publicKeySHA256"] as? String == (try opensslPublicKeySHA256(key: s.file("ec.pem"))))
        #expect(text.stdout.contains("EC P-256"))
        expectNoKeyMaterial(in: [json.stdout, text.stdout], unencryptedKeyPEM: s.read("ec.pem"))
    }

    @Test func keysMadeByCertsAreDescribedNeverShown() throws {
        let s = Scratch()
        try certs("key", "new", "--key-type", "ed25519", "--out", s.file("k.pem"))
        let json = try certs("inspect", "--json", s.file("k.pem"))
        let text = try certs("inspect", s.file("k.pem"))
        let key = try #require(keys(try fileJSON(json.stdout)).first?["key"] as? [String: Any])
        #expect(key["type"] as? String == "Ed25519")
        #expect(key["curve"] is NSNull)
        expectNoKeyMaterial(in: [json.stdout, text.stdout], unencryptedKeyPEM: s.read("k.pem"))
    }

    @Test(arguments: ["PEM", "DER"])
    func encryptedPKCS8KeyOpensWithThePassphraseAndStaysSecret(_ form: String) throws {
        let s = Scratch()
        _ = try opensslOK("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", s.file("plain.pem"))
        let pw = s.write("pw", "pkcs8-pass\n")
        let file = s.file("enc.\(form.lowercased())")
        _ = try opensslOK("pkcs8", "-topk8", "-in", s.file("plain.pem"), "-v2", "aes-256-cbc", "-passout", "file:\(pw)",
                          "-outform", form, "-out", file)
        if form == "PEM" { #expect(s.read("enc.pem").hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----")) }

        let json = try certs("inspect", "--json", "--passphrase-file", pw, file)
        let text = try certs("inspect", "--passphrase-env", "P8", file, environment: ["P8": "pkcs8-pass"])
        #expect(json.status == 0 && text.status == 0, "\(json.stderr) \(text.stderr)")
        let doc = try fileJSON(json.stdout)
        #expect(doc["encoding"] as? String == form)
        let key = try #require(keys(doc).first?["key"] as? [String: Any])
        #expect(key["curve"] as? String == "P-384")
        #expect(key["publicKeySHA256"] as? String == (try opensslPublicKeySHA256(key: s.file("plain.pem"))))
        #expect(!json.stdout.contains("pkcs8-pass") && !text.stdout.contains("pkcs8-pass") && !text.stderr.contains("pkcs8-pass"))
        expectNoKeyMaterial(in: [json.stdout, text.stdout], unencryptedKeyPEM: s.read("plain.pem"))

        expectOneLineError(try certs("inspect", file), exit: 2, mentioning: "--passphrase-file")
        expectOneLineError(try certs("inspect", "--passphrase-env", "P8", file, environment: ["P8": "nope"]), exit: 2, mentioning: "wrong passphrase")
    }

    // MARK: bundles

    @Test(arguments: ["PEM", "DER"])
    func pkcs7BundleFromCrl2pkcs7ListsEveryCertificateInOrder(_ form: String) throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        _ = try opensslOK("crl2pkcs7", "-nocrl", "-certfile", chain.bundle, "-outform", form, "-out", s.file("b.p7b"))
        let doc = try inspectJSON([s.file("b.p7b")])
        #expect(doc["encoding"] as? String == form)
        let list = certificates(doc)
        try #require(list.count == 3)
        #expect(list.map { $0["role"] as? String } == ["leaf", "intermediate", "root"])
        try expectCertificate(list[0], matches: chain.leaf)
        try expectCertificate(list[1], matches: chain.intermediate)
        try expectCertificate(list[2], matches: chain.root)
    }

    @Test func pkcs12ArchiveOpensWithPassphraseEnv() throws {
        let s = Scratch()
        let chain = try OpenSSLChain.make(in: s)
        _ = try opensslOK("pkcs12", "-export", "-inkey", chain.leafKey, "-in", chain.leaf, "-certfile", chain.intermediate,
                          "-passout", "pass:p12-secret", "-out", s.file("a.p12"))
        let r = try certs("inspect", "--json", "--passphrase-env", "P12", s.file("a.p12"), environment: ["P12": "p12-secret"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let doc = try fileJSON(r.stdout)
        #expect(doc["encoding"] as? String == "DER")
        let list = certificates(doc)
        let fingerprints = Set(list.compactMap { $0["sha256Fingerprint"] as? String })
        let expected = Set(try [chain.leaf, chain.intermediate].map {
            try x509Value($0, "-fingerprint", "-sha256").replacingOccurrences(of: ":", with: "").lowercased()
        })
        #expect(fingerprints == expected)
        let leaf = try #require(list.first { $0["role"] as? String == "leaf" })
        try expectCertificate(leaf, matches: chain.leaf)
        let key = try #require(keys(doc).first)
        #expect(key["kind"] as? String == "private")
        #expect((key["key"] as? [String: Any])?["publicKeySHA256"] as? String == (try opensslPublicKeySHA256(key: chain.leafKey)))
        expectNoKeyMaterial(in: [r.stdout, r.stderr], unencryptedKeyPEM: s.read("leaf.key"))
        #expect(!r.stdout.contains("p12-secret") && !r.stderr.contains("p12-secret"))

        expectOneLineError(try certs("inspect", s.file("a.p12")), exit: 2, mentioning: "passphrase")
        expectOneLineError(try certs("inspect", "--passphrase-env", "P12", s.file("a.p12"), environment: ["P12": "wrong"]),
                           exit: 2, mentioning: "wrong passphrase")
    }
}
