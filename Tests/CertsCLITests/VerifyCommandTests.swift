import Foundation
import Testing

/// A `certs ca` store in a scratch directory, plus openssl-made leaves signed by its intermediate.
struct VerifyFixture {
    let s: Scratch
    let store: String
    var root: String { "\(store)/ca/root.pem" }
    var intermediate: String { "\(store)/ca/intermediate.pem" }
    var intermediateKey: String { "\(store)/ca/intermediate-key.pem" }

    init(_ s: Scratch) throws {
        self.s = s
        store = s.file("store")
        let r = try certs("ca", "init", "--store", store)
        #expect(r.status == 0, "ca init: \(r.stderr)")
    }

    /// `certs ca issue`; returns the live directory.
    @discardableResult
    func issue(_ names: String..., options: [String] = []) throws -> String {
        let r = try certs(["ca", "issue", "--store", store] + names + options)
        #expect(r.status == 0, "ca issue: \(r.stderr)")
        let dir = "\(store)/live/\(names[0].replacingOccurrences(of: "*", with: "_wildcard"))"
        return dir
    }

    /// A leaf made by the openssl CLI, signed by the store's intermediate. Returns the cert path
    /// (the key is next to it as NAME.key, a fullchain as NAME-full.pem).
    @discardableResult
    func opensslLeaf(_ name: String, subject: String = "/CN=www.example.test",
                     extensions: String = "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE",
                     newkey: [String] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
                     digest: String = "-sha256", days: String = "30") throws -> String {
        let ext = s.write("\(name).ext", extensions + "\n")
        let key = s.file("\(name).key"), csr = s.file("\(name).csr"), cert = s.file("\(name).pem")
        var r = try run("/usr/bin/openssl", ["req", "-new"] + newkey + ["-nodes", "-keyout", key, "-out", csr, "-subj", subject])
        #expect(r.status == 0, "openssl req: \(r.stderr)")
        r = try openssl("x509", "-req", "-in", csr, "-CA", intermediate, "-CAkey", intermediateKey, "-CAcreateserial",
                        "-days", days, digest, "-extfile", ext, "-out", cert)
        #expect(r.status == 0, "openssl x509: \(r.stderr)")
        _ = s.write("\(name)-full.pem", s.read("\(name).pem") + (try String(contentsOfFile: intermediate, encoding: .utf8)))
        return cert
    }

    func full(_ name: String) -> String { s.file("\(name)-full.pem") }
}

func verifyJSON(_ r: RunResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    let doc = try parseVerifyJSON(r.stdout)
    #expect(doc["version"] as? Int == 1, sourceLocation: sourceLocation)
    return try #require(doc["results"] as? [[String: Any]], sourceLocation: sourceLocation)
}

func parseVerifyJSON(_ text: String) throws -> [String: Any] {
    (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}

/// The `code`s in one result's errors or warnings.
func verifyCodes(_ result: [String: Any], _ key: String) -> [String] {
    ((result[key] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
}

func verifyMessage(_ result: [String: Any], _ key: String, code: String) -> String {
    ((result[key] as? [[String: Any]]) ?? []).first { $0["code"] as? String == code }?["message"] as? String ?? ""
}

@Suite struct VerifyCommandTests {
    @Test func issuedFullchainVerifiesAgainstItsRootWithHostAndKey() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test", "example.test")
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--host", "example.test", "--key", "\(live)/privkey.pem")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("\(live)/fullchain.pem: VALID (for example.test, at "))
        #expect(r.stdout.contains("leaf          CN=www.example.test → CN=certs development CA intermediate"))
        #expect(r.stdout.contains("root          CN=certs development CA root, O=certs development CA → (self-signed)"))
        #expect(!r.stdout.contains("problems:") && !r.stdout.contains("warnings:"))
        #expect(r.stderr.isEmpty)
        // The independent peer agrees.
        #expect(try openssl("verify", "-CAfile", f.root, "-untrusted", "\(live)/chain.pem", "\(live)/cert.pem").status == 0)
    }

    @Test func expiredLeafIsRejectedWithItsExpiryDate() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("old.example.test", options: ["--valid-from", "2024-01-01T00:00:00Z", "--days", "30"])
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(result["valid"] as? Bool == false)
        #expect(verifyCodes(result, "errors") == ["expired"])
        #expect(verifyMessage(result, "errors", code: "expired").contains("expired at 2024-01-31T00:00:00Z"))
        #expect(try openssl("verify", "-CAfile", f.root, "-untrusted", "\(live)/chain.pem", "\(live)/cert.pem").status != 0)
    }

    @Test func notYetValidLeafSaysWhenItStarts() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("soon.example.test", options: ["--valid-from", String(Int(Date().timeIntervalSince1970) + 5 * 86400)])
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root)
        #expect(r.status == 1)
        #expect(r.stdout.contains("INVALID"))
        #expect(r.stdout.contains("- not-yet-valid: the leaf \"CN=soon.example.test\" is not valid until "))
    }

    @Test func validationTimeIsTakenFromAtInUnixSecondsOrRFC3339() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        // Valid from a day ahead for 10 days (the CA itself starts now).
        let start = (Int(Date().timeIntervalSince1970) / 86400 + 1) * 86400
        let live = try f.issue("at.example.test", options: ["--valid-from", String(start), "--days", "10"])
        func rfc3339(_ t: Int, offset: Int = 0) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.timeZone = TimeZone(secondsFromGMT: offset)
            return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(t)))
        }
        #expect(try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--at", rfc3339(start + 3 * 86400, offset: 7200)).status == 0)
        #expect(try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--at", String(start + 60)).status == 0)
        #expect(try certs("verify", "\(live)/fullchain.pem", "--trust", f.root).status == 1, "not valid yet now")
        let late = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--at", rfc3339(start + 20 * 86400))
        #expect(late.status == 1)
        #expect(late.stdout.contains("(at \(rfc3339(start + 20 * 86400)))"), "\(late.stdout)")
        #expect(late.stdout.contains("- expired: the leaf"))
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--at", "next tuesday"), exit: 2, mentioning: "--at")
    }

    @Test func hostNotInSANsIsAMismatchListingTheSANs() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test", "example.test")
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--host", "shop.example.test")
        #expect(r.status == 1)
        #expect(r.stdout.contains("- hostname-mismatch: the host name shop.example.test is not in the leaf's subjectAltNames (DNS:www.example.test, DNS:example.test)"))
        #expect(try openssl("verify", "-CAfile", f.root, "-untrusted", "\(live)/chain.pem", "-verify_hostname", "shop.example.test", "\(live)/cert.pem").status != 0)
    }

    @Test func ipAddressHostsMatchIPSANs() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("localhost", "127.0.0.1", "::1")
        for ok in ["127.0.0.1", "::1", "[::1]", "localhost"] {
            let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--host", ok)
            #expect(r.status == 0, "\(ok): \(r.stdout)")
        }
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--host", "10.0.0.1")
        #expect(r.status == 1)
        #expect(r.stdout.contains("the IP address 10.0.0.1 is not in the leaf's subjectAltNames (DNS:localhost, IP:127.0.0.1, IP:::1)"))
    }

    @Test func nameOnlyInTheCommonNameFailsTheHostCheck() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("cnonly", subject: "/CN=legacy.example.test",
                          extensions: "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth")
        let r = try certs("verify", f.full("cnonly"), "--trust", f.root, "--host", "legacy.example.test", "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(Set(verifyCodes(result, "errors")) == ["hostname-mismatch", "missing-san"])
        #expect(verifyMessage(result, "errors", code: "hostname-mismatch").contains("\"legacy.example.test\" is only in the subject CN"))
        // OpenSSL itself still falls back to the CN: this is the check it does not do.
        #expect(try openssl("verify", "-CAfile", f.root, "-untrusted", f.intermediate, "-verify_hostname", "legacy.example.test", s.file("cnonly.pem")).status == 0)
    }

    @Test func leafWithoutItsIntermediateNamesTheMissingIssuerAndItsAIAURL() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("aia", extensions: """
            subjectAltName=DNS:www.example.test
            keyUsage=critical,digitalSignature
            extendedKeyUsage=serverAuth
            authorityInfoAccess=caIssuers;URI:http://ca.example.test/intermediate.der
            """)
        let r = try certs("verify", s.file("aia.pem"), "--trust", f.root)
        #expect(r.status == 1)
        #expect(r.stdout.contains("- unknown-issuer: cannot find the issuer \"CN=certs development CA intermediate, O=certs development CA\" of the leaf \"CN=www.example.test\""))
        #expect(r.stdout.contains("http://ca.example.test/intermediate.der"))
        // --chain supplies it.
        #expect(try certs("verify", s.file("aia.pem"), "--trust", f.root, "--chain", f.intermediate).status == 0)
    }

    @Test func untrustedRootIsNotTrustedBySystemDefault() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        for extra in [[], ["--system"]] {
            let r = try certs(["verify", "\(live)/fullchain.pem", "--json"] + extra)
            #expect(r.status == 1)
            let result = try #require(try verifyJSON(r).first)
            #expect(verifyCodes(result, "errors") == ["unknown-issuer"])
            #expect(verifyMessage(result, "errors", code: "unknown-issuer").contains("the system trust store"))
        }
    }

    @Test func reorderedBundleIsValidWithAChainOrderWarning() throws {
        // RFC 8446 4.4.2: order is a warning (curl, Python and s_client accept it), never invalid.
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        let reordered = s.write("reordered.pem", s.read("store/live/www.example.test/cert.pem") + s.read("store/ca/root.pem") + s.read("store/ca/intermediate.pem"))
        let r = try certs("verify", reordered, "--trust", f.root, "--json")
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == [])
        #expect(verifyMessage(result, "warnings", code: "chain-order").contains("found leaf, \"CN=certs development CA root"))
        #expect(verifyMessage(result, "warnings", code: "chain-order").contains("certs bundle"))
        #expect(verifyCodes(result, "warnings") == ["chain-order", "superfluous-certificate"])  // the root is included too
        _ = live
    }

    @Test func includedRootDuplicateAndUnrelatedCertificatesAreWarnings() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let other = Scratch(), g = try VerifyFixture(other)
        let live = try f.issue("www.example.test")
        let messy = s.write("messy.pem", s.read("store/live/www.example.test/fullchain.pem") + s.read("store/ca/intermediate.pem")
                            + (try String(contentsOfFile: g.intermediate, encoding: .utf8)) + s.read("store/ca/root.pem"))
        let r = try certs("verify", messy, "--trust", f.root)
        #expect(r.status == 0, "warnings keep it valid: \(r.stdout)")
        #expect(r.stdout.contains(": VALID"))
        #expect(r.stdout.contains("- duplicate-certificate: \"CN=certs development CA intermediate, O=certs development CA\" appears again as certificate 3 of \(messy)"))
        #expect(r.stdout.contains("(certificate 4 of \(messy)) is not part of the leaf's chain"))
        #expect(r.stdout.contains("the chain includes the root \"CN=certs development CA root, O=certs development CA\" (certificate 5 of \(messy))"))
        _ = live
    }

    @Test func privateKeyOfAnotherCertificateIsAKeyMismatch() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let a = try f.issue("a.example.test"), b = try f.issue("b.example.test")
        let r = try certs("verify", "\(a)/fullchain.pem", "--trust", f.root, "--key", "\(b)/privkey.pem")
        #expect(r.status == 1)
        #expect(r.stdout.contains("- key-mismatch: the private key (EC P-256) does not belong to the leaf \"CN=a.example.test\""))
        #expect(!r.stdout.contains("PRIVATE KEY"))
    }

    @Test func caFlaggedLeafIsRejected() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("ca", extensions: "subjectAltName=DNS:www.example.test\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nextendedKeyUsage=serverAuth")
        let r = try certs("verify", f.full("ca"), "--trust", f.root, "--json")
        #expect(r.status == 1)
        #expect(verifyCodes(try #require(try verifyJSON(r).first), "errors").contains("leaf-is-ca"))
    }

    @Test func clientAuthOnlyCertificateHasTheWrongPurpose() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("client", extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth")
        let r = try certs("verify", f.full("client"), "--trust", f.root, "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == ["wrong-purpose"])
        #expect(verifyMessage(result, "errors", code: "wrong-purpose").contains("(clientAuth) lacks serverAuth"))
        #expect(try openssl("verify", "-CAfile", f.root, "-untrusted", f.intermediate, "-purpose", "sslserver", s.file("client.pem")).status != 0)
    }

    @Test func keyEnciphermentOnAnECKeyIsAWarningThatDoesNotFailVerification() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("ecenc", extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth")
        let r = try certs("verify", f.full("ecenc"), "--trust", f.root)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("- key-usage: the leaf's keyUsage (digitalSignature, keyEncipherment) includes keyEncipherment, which an EC key cannot do"))
    }

    @Test func sha1SignedLeafIsRejected() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("sha1", digest: "-sha1")
        let r = try certs("verify", f.full("sha1"), "--trust", f.root, "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == ["sha1-signature"])
        #expect(verifyMessage(result, "errors", code: "sha1-signature").contains("ecdsa-with-SHA1"))
    }

    @Test func rsa1024LeafIsAWeakKey() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        try f.opensslLeaf("rsa1024", extensions: "subjectAltName=DNS:www.example.test\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth",
                          newkey: ["-newkey", "rsa:1024"])
        let r = try certs("verify", f.full("rsa1024"), "--trust", f.root, "--json")
        #expect(r.status == 1)
        let result = try #require(try verifyJSON(r).first)
        #expect(verifyCodes(result, "errors") == ["weak-key"])
        #expect(verifyMessage(result, "errors", code: "weak-key").contains("RSA 1024-bit key"))
    }

    @Test func selfSignedLeafIsNamedSelfSigned() throws {
        let s = Scratch()
        let r0 = try openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", s.file("ss.key"),
                             "-out", s.file("ss.pem"), "-subj", "/CN=ss.example.test", "-days", "30", "-addext", "subjectAltName=DNS:ss.example.test")
        #expect(r0.status == 0)
        let root = try VerifyFixture(s).root
        let r = try certs("verify", s.file("ss.pem"), "--trust", root)
        #expect(r.status == 1)
        #expect(r.stdout.contains("- self-signed: the leaf \"CN=ss.example.test\" is self-signed and not in --trust \(root)"))
        // Trusting that exact certificate pins it (the leaf is still flagged as a CA by openssl req -x509).
        let pinned = try certs("verify", s.file("ss.pem"), "--trust", s.file("ss.pem"), "--json")
        #expect(!verifyCodes(try #require(try verifyJSON(pinned).first), "errors").contains("self-signed"))
    }

    @Test func validityOver398DaysIsOnlyAWarning() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("long.example.test", options: ["--days", "825"])
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root)
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("warnings:\n    - validity-too-long: the leaf is valid for 825 days"))
    }

    @Test func severalLeavesGetOneReportEachAndAnyInvalidExitsOne() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let good = try f.issue("good.example.test")
        let bad = try f.issue("bad.example.test", options: ["--valid-from", "2024-01-01", "--days", "1"])
        let r = try certs("verify", "\(good)/fullchain.pem", "\(bad)/fullchain.pem", "\(good)/fullchain.pem", "--trust", f.root, "--json")
        #expect(r.status == 1)
        let results = try verifyJSON(r)
        #expect(results.map { $0["valid"] as? Bool } == [true, false, true])
        #expect(results.map { $0["source"] as? String } == ["\(good)/fullchain.pem", "\(bad)/fullchain.pem", "\(good)/fullchain.pem"])
        let text = try certs("verify", "\(good)/fullchain.pem", "\(bad)/fullchain.pem", "--trust", f.root)
        #expect(text.stdout.components(separatedBy: ": VALID").count == 2)
        #expect(text.stdout.components(separatedBy: ": INVALID").count == 2)
        #expect(try certs("verify", "\(good)/fullchain.pem", "\(good)/fullchain.pem", "--trust", f.root).status == 0)
    }

    @Test func jsonResultHasTheDocumentedFields() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        let r = try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--host", "www.example.test", "--at", "2030-01-01T00:00:00Z", "--json")
        #expect(r.stdout.hasPrefix("{\n  \"version\": 1,\n  \"results\": ["))
        let result = try #require(try verifyJSON(r).first)
        #expect(result["host"] as? String == "www.example.test")
        #expect(result["at"] as? String == "2030-01-01T00:00:00Z")
        let chain = try #require(result["chain"] as? [[String: Any]])
        #expect(chain.map { $0["role"] as? String } == ["leaf", "intermediate", "root"])
        let fp = try openssl("x509", "-in", "\(live)/cert.pem", "-noout", "-fingerprint", "-sha256").stdout
        let expected = fp.split(separator: "=").last!.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
        #expect(chain[0]["sha256Fingerprint"] as? String == expected)
        #expect(chain[0]["notAfter"] is String)
        #expect(result["connection"] == nil)
        #expect(result["errors"] is [Any] && result["warnings"] is [Any])
    }

    @Test func unreadableOrWrongInputIsAUsageErrorBeforeAnyVerdict() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", s.file("missing.pem"), "--trust", f.root), exit: 2, mentioning: "missing.pem: no such file")
        expectOneLineError(try certs("verify", "\(live)/privkey.pem", "--trust", f.root), exit: 2, mentioning: "is not a certificate")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--trust", "\(live)/privkey.pem"), exit: 2, mentioning: "privkey.pem")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--key", "\(live)/cert.pem"), exit: 2, mentioning: "not a private key")
        let r = try certs("verify", "\(live)/fullchain.pem", s.file("missing.pem"), "--trust", f.root)
        #expect(r.stdout.isEmpty, "no partial verdicts: \(r.stdout)")
    }

    @Test func contradictoryOrIncompleteOptionsAreUsageErrors() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        expectOneLineError(try certs("verify"), exit: 2, mentioning: "--connect")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--trust", f.root, "--system"), exit: 2, mentioning: "--system")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--sni", "x.test"), exit: 2, mentioning: "--sni needs --connect")
        expectOneLineError(try certs("verify", "\(live)/fullchain.pem", "--connect", "127.0.0.1:1"), exit: 2, mentioning: "not both")
        expectOneLineError(try certs("verify", "--connect", "127.0.0.1:0"), exit: 2, mentioning: "port")
    }

    @Test func stdinIsReadWithDash() throws {
        let s = Scratch(), f = try VerifyFixture(s)
        let live = try f.issue("www.example.test")
        let r = try certs("verify", "-", "--trust", f.root, stdin: s.bytes("store/live/www.example.test/fullchain.pem"))
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("stdin: VALID"))
        _ = live
    }
}
