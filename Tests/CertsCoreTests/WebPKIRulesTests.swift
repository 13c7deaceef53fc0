import Foundation
import Testing
@testable import CertsCore

/// Keys the library cannot generate: DSA (by pyca/cryptography) and a 2052-bit RSA modulus (by
/// the openssl CLI; pyca rounds odd sizes), made once per run.
enum OddKeys {
    static func output(_ tool: String, _ arguments: [String]) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return "" }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    static let pems: [String: String] = [
        "dsa": output("/usr/bin/python3", ["-c", """
            from cryptography.hazmat.primitives.asymmetric import dsa
            from cryptography.hazmat.primitives import serialization as s
            k = dsa.generate_private_key(2048)
            print(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())
            """]),
        "rsa2052": output("/usr/bin/openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2052"]),
    ]

    static func key(_ name: String) throws -> PrivateKey {
        let pem = try #require(pems[name].flatMap { $0.contains("PRIVATE KEY") ? $0 : nil }, "could not make the \(name) key")
        return try PrivateKey(bytes: Array(pem.utf8), source: name)
    }
}

/// Every rule of docs/verification.md that OpenSSL does not apply: for each, a certificate that
/// breaks it (the finding appears) and its twin that does not (it does not).
@Suite struct WebPKIRulesTests {
    let pki: VerifyPKI
    init() throws { pki = try VerifyPKI() }

    /// Certificates as a user's file holds them: encoded and read back.
    func reread(_ c: Certificate) throws -> Certificate {
        try #require(Certificate.parseDER(try c.der()))
    }

    func verify(_ certs: [Certificate], host: String? = nil, policy: VerificationPolicy = .webpki, roots: [Certificate]? = nil) throws -> VerificationReport {
        let trust = try TrustStore.certificates(roots ?? [pki.root], origin: "--trust root.pem")
        let v = ChainVerifier(trust: trust, host: host, time: VerifyPKI.now, policy: policy)
        return try v.verify(fileCertificates: try certs.map(reread), source: "fullchain.pem")
    }

    func leaf(_ adjust: (inout CertificateBuilder) -> Void) throws -> [Certificate] {
        [try pki.makeLeaf(adjust), pki.intermediate]
    }

    func errorCodes(_ r: VerificationReport) -> [String] { r.errors.map(\.code) }
    func warningCodes(_ r: VerificationReport) -> [String] { r.warnings.map(\.code) }

    /// A root → intermediate → leaf where each may be adjusted before signing.
    func chain(intermediateKey chosenKey: PrivateKey? = nil,
               root adjustRoot: (inout CertificateBuilder) -> Void = { _ in },
               intermediate adjustIntermediate: (inout CertificateBuilder) -> Void = { _ in },
               leaf adjustLeaf: (inout CertificateBuilder) -> Void = { _ in }) throws -> (chain: [Certificate], root: Certificate) {
        let rootKey = try PrivateKey.generate(.ecP256)
        var r = CertificateBuilder(subject: DistinguishedName(commonName: "Rules Root"), publicKey: rootKey.publicKey,
                                   notBefore: VerifyPKI.now - 86400 * 30, notAfter: VerifyPKI.now + 86400 * 3650)
        r.isCA = true
        adjustRoot(&r)
        let root = try r.sign(with: rootKey)
        let intermediateKey = try chosenKey ?? PrivateKey.generate(.ecP256)
        var i = CertificateBuilder(subject: DistinguishedName(commonName: "Rules Intermediate"), publicKey: intermediateKey.publicKey,
                                   notBefore: VerifyPKI.now - 86400 * 30, notAfter: VerifyPKI.now + 86400 * 1825)
        i.isCA = true
        i.pathLength = 0
        i.issuer = root
        if !root.hasSubjectKeyIdentifier { i.extensionOverrides["authorityKeyIdentifier"] = try Self.keyIdentifierAKI(rootKey) }
        adjustIntermediate(&i)
        let intermediate = try i.sign(with: rootKey)
        var l = CertificateBuilder.server(names: [.dns("www.example.test")], publicKey: pki.leafKey.publicKey,
                                          notBefore: VerifyPKI.now - 86400, notAfter: VerifyPKI.now + 86400 * 89, issuer: intermediate)
        if !intermediate.hasSubjectKeyIdentifier { l.extensionOverrides["authorityKeyIdentifier"] = try Self.keyIdentifierAKI(intermediateKey) }
        adjustLeaf(&l)
        return ([try l.sign(with: intermediateKey), intermediate], root)
    }

    /// An authorityKeyIdentifier naming `issuerKey` by the keyIdentifier its SKI would have, for an
    /// issuer without SKI (OpenSSL's keyid:always refuses to make one then).
    static func keyIdentifierAKI(_ issuerKey: PrivateKey) throws -> String {
        let shadow = try CertificateBuilder(subject: DistinguishedName(commonName: "shadow"), publicKey: issuerKey.publicKey, notBefore: 0, notAfter: 86400).sign(with: issuerKey)
        let id = try #require(shadow.subjectKeyIdentifier)
        return "DER:" + ([0x30, UInt8(id.count + 2), 0x80, UInt8(id.count)] + id).colonHex
    }

    // MARK: The twin every rule is measured against

    @Test func theProjectsOwnProfileMeetsEveryRuleUnderBothPolicies() throws {
        for policy in VerificationPolicy.allCases {
            let r = try verify([pki.leaf, pki.intermediate], host: "www.example.test", policy: policy)
            #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(policy): \(r.codes)")
            let (c, root) = try chain()
            let r2 = try verify(c, host: "www.example.test", policy: policy, roots: [root])
            #expect(r2.errors.isEmpty && r2.warnings.isEmpty, "\(policy): \(r2.codes)")
        }
    }

    @Test func localCACertificatesMeetEveryRule() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("certs-rules-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let now = Int64(Date().timeIntervalSince1970)
        let ca = try LocalCA.create(store: dir, now: now)
        let key = try PrivateKey.generate(.ecP256)
        for (names, days) in [([GeneralName.dns("app.example.test"), .dns("*.app.example.test")], Int64(90)),
                              ([.ip("127.0.0.1"), .ip("::1")], 200)] {
            let cert = try ca.issue(names: names, key: key, notBefore: now, notAfter: now + days * 86400)
            let v = ChainVerifier(trust: try TrustStore.certificates([ca.root], origin: "--trust root.pem"), time: now + 60)
            let r = try v.verify(fileCertificates: [try reread(cert), ca.intermediate], source: "fullchain.pem")
            #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(names): \(r.codes)")
        }
    }

    // MARK: commonName

    @Test func commonNameMustBeACharacterForCharacterCopyOfASAN() throws {
        let ipv6 = try pki.makeLeaf(names: [.dns("www.example.test"), .ip("2001:db8::1")]) { $0.subject = DistinguishedName(commonName: "2001:db8::1") }
        let ipv4 = try pki.makeLeaf(names: [.ip("192.0.2.1")])
        #expect(ipv4.subject.commonName == "192.0.2.1")
        for good in [pki.leaf, ipv6, ipv4] {
            #expect(!errorCodes(try verify([good, pki.intermediate])).contains("cn-not-in-san"), "\(good.subject)")
        }
        let cases: [(String, [GeneralName], String)] = [
            ("WWW.example.test", [.dns("www.example.test")], "in case only"),
            ("192.000.002.001", [.ip("192.0.2.1")], "dotted decimal"),
            ("0xc0.0.2.1", [.ip("192.0.2.1")], "dotted decimal"),
            ("2001:0db8:0:0:0:0:0:1", [.ip("2001:db8::1")], "\"2001:db8::1\""),
            ("2001:DB8::1", [.ip("2001:db8::1")], "\"2001:db8::1\""),
            ("bücher.example.test", [.dns("xn--bcher-kva.example.test")], "A-label"),
            ("other.example.test", [.dns("www.example.test")], "copied exactly"),
        ]
        for (cn, names, hint) in cases {
            let bad = try pki.makeLeaf(names: names) { $0.subject = DistinguishedName(commonName: cn) }
            let r = try verify([bad, pki.intermediate])
            let f = try #require(r.errors.first { $0.code == "cn-not-in-san" }, "\(cn): \(r.codes)")
            #expect(f.message.contains(hint), "\(cn): \(f.message)")
            #expect(!errorCodes(try verify([bad, pki.intermediate], policy: .rfc5280)).contains("cn-not-in-san"))
        }
    }

    // MARK: extendedKeyUsage

    @Test func leafWithoutEKUFailsWebPKIButNotRFC5280() throws {
        let noEKU = try leaf { $0.extendedKeyUsage = nil }
        #expect(errorCodes(try verify(noEKU)) == ["missing-eku"])
        #expect(try verify(noEKU, host: "www.example.test", policy: .rfc5280).valid)
        #expect(!errorCodes(try verify([pki.leaf, pki.intermediate])).contains("missing-eku"))
    }

    @Test func anyExtendedKeyUsageInTheLeafIsRejected() throws {
        let any = try leaf { $0.extendedKeyUsage = "serverAuth,anyExtendedKeyUsage" }
        #expect(errorCodes(try verify(any)) == ["any-eku"])
        #expect(try verify(any, policy: .rfc5280).valid)
        #expect(try verify(try leaf { $0.extendedKeyUsage = "serverAuth,clientAuth" }).valid)
    }

    @Test func criticalEKUInTheLeafIsRejected() throws {
        let critical = try leaf { $0.extendedKeyUsage = "critical,serverAuth" }
        #expect(errorCodes(try verify(critical)) == ["critical-eku"])
        #expect(try verify(critical, policy: .rfc5280).valid)
        #expect(try verify(try leaf { $0.extendedKeyUsage = "serverAuth" }).valid)
    }

    @Test func rootCarryingAnEKUIsRejectedUnlessItStillAllowsServerAuth() throws {
        let (bad, badRoot) = try chain(root: { $0.extendedKeyUsage = "clientAuth,emailProtection" })
        let r = try verify(bad, roots: [badRoot])
        #expect(errorCodes(r).contains("root-has-eku"), "\(r.codes)")
        #expect(!errorCodes(try verify(bad, policy: .rfc5280, roots: [badRoot])).contains("root-has-eku"))
        // Pebble's shape: serverAuth, clientAuth on the root. Browsers accept it; the BR does not.
        let (pebbleLike, pebbleRoot) = try chain(root: { $0.extendedKeyUsage = "serverAuth,clientAuth" })
        let p = try verify(pebbleLike, roots: [pebbleRoot])
        #expect(p.valid && warningCodes(p) == ["root-has-eku"], "\(p.codes)")
        #expect(try verify(pebbleLike, policy: .rfc5280, roots: [pebbleRoot]).warnings.isEmpty)
        let (good, goodRoot) = try chain()
        let g = try verify(good, roots: [goodRoot])
        #expect(g.valid && g.warnings.isEmpty, "\(g.codes)")
    }

    // MARK: Keys

    @Test func dsaKeysAreRejectedAnywhere() throws {
        let dsa = try OddKeys.key("dsa")
        let leafWithDSA = try pki.makeLeaf(key: dsa)
        let r = try verify([leafWithDSA, pki.intermediate])
        #expect(errorCodes(r).contains("dsa-key"), "\(r.codes)")
        #expect(!errorCodes(try verify([leafWithDSA, pki.intermediate], policy: .rfc5280)).contains("dsa-key"))
        #expect(!errorCodes(try verify([pki.leaf, pki.intermediate])).contains("dsa-key"))
        // In the intermediate too.
        let (c, root) = try chain(intermediateKey: dsa)
        #expect(try verify(c, roots: [root]).errors.contains { $0.code == "dsa-key" && $0.message.contains("intermediate") })
    }

    @Test func rsaModulusMustBeAMultipleOfEightBits() throws {
        let odd = try pki.makeLeaf(key: try OddKeys.key("rsa2052"))
        let r = try verify([odd, pki.intermediate])
        #expect(errorCodes(r) == ["rsa-modulus-size"], "\(r.codes)")
        #expect(r.errors.first?.message.contains("2052-bit") == true)
        #expect(try verify([odd, pki.intermediate], policy: .rfc5280).valid)
        #expect(try verify([try pki.makeLeaf(key: try PrivateKey.generate(.rsa2048)), pki.intermediate]).valid)
    }

    @Test func ed25519LeafIsAWarning() throws {
        let ed = try pki.makeLeaf(key: try PrivateKey.generate(.ed25519))
        let r = try verify([ed, pki.intermediate])
        #expect(r.valid, "\(r.codes)")
        #expect(warningCodes(r) == ["eddsa-leaf"])
        #expect(try verify([ed, pki.intermediate], policy: .rfc5280).warnings.isEmpty)
        #expect(try verify([pki.leaf, pki.intermediate]).warnings.isEmpty)
    }

    // MARK: Serial numbers

    @Test func serialNumbersMustBePositiveAndAtMost20Octets() throws {
        let twenty = [UInt8(0x7f)] + [UInt8](repeating: 0xab, count: 19)
        #expect(try verify(try leaf { $0.serial = twenty }).valid)
        for (what, adjust) in [("zero", { (b: inout CertificateBuilder) in b.serial = [0] }),
                               ("negative", { (b: inout CertificateBuilder) in b.serial = [5]; b.negativeSerial = true }),
                               ("21 octets", { (b: inout CertificateBuilder) in b.serial = [UInt8](repeating: 0x11, count: 21) }),
                               ("21 octets with the sign byte", { (b: inout CertificateBuilder) in b.serial = [0x80] + [UInt8](repeating: 1, count: 19) })] {
            let bad = try leaf(adjust)
            for policy in VerificationPolicy.allCases {
                let r = try verify(bad, policy: policy)
                #expect(errorCodes(r) == ["invalid-serial"], "\(what), \(policy): \(r.codes)")
            }
        }
    }

    // MARK: Key identifiers

    @Test func nonRootWithoutAuthorityKeyIdentifierIsRejected() throws {
        let bad = try leaf { $0.extensionOverrides["authorityKeyIdentifier"] = "" }
        #expect(try #require(bad.first).authorityKeyIdentifier == nil)
        for policy in VerificationPolicy.allCases {
            #expect(errorCodes(try verify(bad, policy: policy)) == ["missing-aki"], "\(policy)")
        }
        // A self-signed certificate may omit it (RFC 5280 4.2.1.1).
        let key = try PrivateKey.generate(.ecP256)
        var b = CertificateBuilder.server(names: [.dns("www.example.test")], publicKey: key.publicKey, notBefore: VerifyPKI.now - 60, notAfter: VerifyPKI.now + 86400, issuer: nil)
        b.extensionOverrides["authorityKeyIdentifier"] = ""
        let selfSigned = try b.sign(with: key)
        #expect(try verify([selfSigned], roots: [selfSigned]).valid)
    }

    @Test func caWithoutSubjectKeyIdentifierIsRejected() throws {
        // Without the issuer's SKI the child's AKI can only name the issuer and serial.
        let (bad, root) = try chain(intermediate: { $0.extensionOverrides["subjectKeyIdentifier"] = "" },
                                    leaf: { _ in })
        for policy in VerificationPolicy.allCases {
            let r = try verify(bad, policy: policy, roots: [root])
            #expect(errorCodes(r) == ["missing-ski"], "\(policy): \(r.codes)")
        }
        let (badRoot, noSKIRoot) = try chain(root: { $0.extensionOverrides["subjectKeyIdentifier"] = "" },
                                             intermediate: { _ in })
        #expect(errorCodes(try verify(badRoot, roots: [noSKIRoot])) == ["missing-ski"])
        #expect(try verify(badRoot, policy: .rfc5280, roots: [noSKIRoot]).valid, "RFC 5280 does not judge the anchor")
    }

    @Test func authorityKeyIdentifierWithoutKeyIdentifierIsRejected() throws {
        let (rootAKI, root) = try chain(root: { $0.extensionOverrides["authorityKeyIdentifier"] = "issuer:always" })
        #expect(errorCodes(try verify(rootAKI, roots: [root])) == ["aki-without-keyid"])
        #expect(try verify(rootAKI, policy: .rfc5280, roots: [root]).valid)
        let (goodAKI, goodRoot) = try chain(root: { $0.extensionOverrides["authorityKeyIdentifier"] = "keyid:always" })
        #expect(try verify(goodAKI, roots: [goodRoot]).valid)
        let (intermediateAKI, root2) = try chain(intermediate: { $0.extensionOverrides["authorityKeyIdentifier"] = "issuer:always" })
        for policy in VerificationPolicy.allCases {
            #expect(errorCodes(try verify(intermediateAKI, policy: policy, roots: [root2])) == ["aki-without-keyid"])
        }
    }

    // MARK: basicConstraints and keyUsage

    @Test func rootWithoutCriticalBasicConstraintsIsRejected() throws {
        for value in ["CA:TRUE", ""] {
            let (bad, root) = try chain(root: { $0.extensionOverrides["basicConstraints"] = value })
            let r = try verify(bad, roots: [root])
            #expect(errorCodes(r) == ["root-basic-constraints"], "\(value): \(r.codes)")
            #expect(try verify(bad, policy: .rfc5280, roots: [root]).valid, "\(value)")
        }
        let (good, root) = try chain(root: { $0.extensionOverrides["basicConstraints"] = "critical,CA:TRUE" })
        #expect(try verify(good, roots: [root]).valid)
    }

    @Test func rootProfileDefectsOfASystemRootAreWarnings() throws {
        let (bad, root) = try chain(root: { $0.extensionOverrides["basicConstraints"] = "CA:TRUE" })
        let context = PolicyContext(leaf: bad[0], chain: bad + [root], time: VerifyPKI.now, key: nil, policy: .webpki, systemTrust: true)
        let findings = RootProfilePolicy().evaluate(context).findings
        #expect(findings.map(\.code) == ["root-basic-constraints"])
        #expect(findings.allSatisfy { $0.severity == .warning })
        #expect(try TrustStore.system().isSystem)
        #expect(try !TrustStore.certificates([root], origin: "x").isSystem)
    }

    @Test func keyCertSignOnALeafIsRejected() throws {
        let bad = try leaf { $0.keyUsage = "critical,digitalSignature,keyCertSign" }
        for policy in VerificationPolicy.allCases {
            #expect(errorCodes(try verify(bad, policy: policy)) == ["leaf-key-cert-sign"], "\(policy)")
        }
        #expect(try verify(try leaf { $0.keyUsage = "critical,digitalSignature" }).valid)
    }

    @Test func caCertificateAsLeafIsWebPKIOnly() throws {
        let caLeaf = try leaf { $0.isCA = true; $0.keyUsage = "critical,digitalSignature,keyCertSign"; $0.extendedKeyUsage = "serverAuth" }
        #expect(errorCodes(try verify(caLeaf)).contains("leaf-is-ca"))
        let r = try verify(caLeaf, policy: .rfc5280)
        #expect(r.valid, "\(r.codes)")
    }

    // MARK: nameConstraints

    @Test func nonCriticalNameConstraintsAreAnRFC5280ErrorAndAWebPKIWarning() throws {
        let (bad, root) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = "permitted;DNS:example.test" })
        let web = try verify(bad, roots: [root])
        #expect(web.valid && warningCodes(web) == ["name-constraints-not-critical"], "\(web.codes)")
        #expect(errorCodes(try verify(bad, policy: .rfc5280, roots: [root])) == ["name-constraints-not-critical"])
        let (good, goodRoot) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = "critical,permitted;DNS:example.test" })
        for policy in VerificationPolicy.allCases {
            let r = try verify(good, host: "www.example.test", policy: policy, roots: [goodRoot])
            #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(r.codes)")
        }
    }

    @Test func nameConstraintsInALeafAreRejected() throws {
        let bad = try leaf { $0.extensionOverrides["nameConstraints"] = "critical,permitted;DNS:example.test" }
        for policy in VerificationPolicy.allCases {
            #expect(errorCodes(try verify(bad, policy: policy)) == ["name-constraints-in-leaf"])
        }
    }

    @Test func nameConstraintsWithoutSubtreesAreRejected() throws {
        for der in ["critical,DER:30:00", "critical,DER:30:02:a0:00"] {
            let (bad, root) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = der })
            for policy in VerificationPolicy.allCases {
                let r = try verify(bad, policy: policy, roots: [root])
                #expect(errorCodes(r).contains("name-constraints-empty"), "\(der) \(policy): \(r.codes)")
            }
        }
        let (good, root) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = "critical,excluded;DNS:evil.test" })
        #expect(try verify(good, roots: [root]).valid)
    }

    @Test func dnsNameConstraintWithALeadingPeriodIsRejected() throws {
        let (bad, root) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = "critical,permitted;DNS:.example.test" })
        let r = try verify(bad, roots: [root])
        let f = try #require(r.errors.first { $0.code == "name-constraints-dns-period" }, "\(r.codes)")
        #expect(f.message.contains("write \"example.test\""))
        #expect(try verify(bad, policy: .rfc5280, roots: [root]).errors.contains { $0.code == "name-constraints-dns-period" })
        // The same period is right for an email constraint.
        let (email, root2) = try chain(intermediate: { $0.extensionOverrides["nameConstraints"] = "critical,permitted;DNS:example.test,permitted;email:.example.test" })
        #expect(try verify(email, roots: [root2]).valid)
    }

    // MARK: subjectAltName

    @Test func criticalSANNextToANonEmptySubjectIsRejected() throws {
        let bad = try leaf { $0.extensionOverrides["subjectAltName"] = "critical,DNS:www.example.test" }
        #expect(errorCodes(try verify(bad)) == ["critical-san"])
        let rfc = try verify(bad, policy: .rfc5280)
        #expect(rfc.valid && warningCodes(rfc) == ["critical-san"])
        // With an empty subject it must be critical.
        let empty = try leaf { $0.subject = DistinguishedName(); $0.extensionOverrides["subjectAltName"] = "critical,DNS:www.example.test" }
        #expect(try verify(empty).valid)
        let emptyNonCritical = try leaf { $0.subject = DistinguishedName() }
        #expect(errorCodes(try verify(emptyNonCritical)) == ["san-not-critical"])
    }

    @Test func underscoresInDNSNamesAreRejected() throws {
        let bad = try pki.makeLeaf(names: [.dns("www.example.test"), .dns("my_service.example.test")])
        let r = try verify([bad, pki.intermediate])
        #expect(errorCodes(r) == ["dns-underscore"])
        #expect(r.errors.first?.message.contains("my_service.example.test") == true)
        let rfc = try verify([bad, pki.intermediate], policy: .rfc5280)
        #expect(rfc.valid && warningCodes(rfc) == ["dns-underscore"])
        #expect(try verify([try pki.makeLeaf(names: [.dns("www.example.test"), .dns("my-service.example.test")]), pki.intermediate]).valid)
    }

    // MARK: Wildcards over public suffixes

    @Test func wildcardDirectlyOverAPublicSuffixIsRejected() throws {
        for suffix in ["co.uk", "foo.ck", "xn--55qx5d.cn"] {
            let bad = try pki.makeLeaf(names: [.dns("*.\(suffix)")])
            let r = try verify([bad, pki.intermediate])
            #expect(errorCodes(r) == ["wildcard-public-suffix"], "\(suffix): \(r.codes)")
            #expect(try verify([bad, pki.intermediate], policy: .rfc5280).valid, "\(suffix)")
        }
        // PRIVATE-section suffixes: browsers accept the wildcard (only the ICANN section counts
        // for them), so it is valid with a warning, never an error.
        for suffix in ["s3.amazonaws.com", "github.io"] {
            let odd = try pki.makeLeaf(names: [.dns("*.\(suffix)")])
            let r = try verify([odd, pki.intermediate])
            #expect(r.valid && warningCodes(r).contains("wildcard-private-suffix"), "\(suffix): \(r.codes)")
        }
        for registrable in ["example.co.uk", "bucket.s3.amazonaws.com", "www.ck", "example.xn--55qx5d.cn", "example.test"] {
            let good = try pki.makeLeaf(names: [.dns("*.\(registrable)")])
            #expect(try verify([good, pki.intermediate]).valid, "\(registrable)")
        }
    }

    @Test func missingPublicSuffixListIsAWarningNotASilentPass() throws {
        let wildcard = try pki.makeLeaf(names: [.dns("*.co.uk")])
        let context = PolicyContext(leaf: wildcard, chain: [wildcard, pki.intermediate, pki.root], time: VerifyPKI.now, key: nil)
        let missing = WildcardOverPublicSuffixPolicy(path: "/nonexistent/public_suffix_list.dat").evaluate(context).findings
        #expect(missing.map(\.code) == ["public-suffix-list-missing"])
        #expect(missing.first?.severity == .warning)
        #expect(missing.first?.message.contains("/nonexistent/public_suffix_list.dat") == true)
        // Without a wildcard the list is not needed.
        let plain = PolicyContext(leaf: pki.leaf, chain: [pki.leaf, pki.intermediate, pki.root], time: VerifyPKI.now, key: nil)
        #expect(WildcardOverPublicSuffixPolicy(path: "/nonexistent").evaluate(plain).findings.isEmpty)
    }

    @Test func publicSuffixListFollowsWildcardAndExceptionRules() throws {
        let list = try #require(PublicSuffixList.system, "apt-get install publicsuffix")
        #expect(list.ruleCount > 5000)
        #expect(list.publicSuffix(of: "www.example.co.uk") == "co.uk")
        #expect(list.publicSuffix(of: "a.b.foo.ck") == "foo.ck")  // *.ck
        #expect(list.publicSuffix(of: "www.ck") == "ck")          // !www.ck
        #expect(list.publicSuffix(of: "example.unknowntld") == "unknowntld")  // the implicit *
        #expect(list.isPublicSuffix("s3.amazonaws.com"))           // PRIVATE section
        #expect(!list.isPublicSuffix("s3.amazonaws.com", includingPrivate: false))
        #expect(list.isPublicSuffix("co.uk", includingPrivate: false))
        #expect(!list.isPublicSuffix("example.com"))
        let small = PublicSuffixList(text: "// comment\ncom\n*.kawasaki.jp\n!city.kawasaki.jp\n公司.cn\n")
        #expect(small.ruleCount == 4)
        #expect(small.isPublicSuffix("foo.kawasaki.jp"))
        #expect(!small.isPublicSuffix("city.kawasaki.jp"))
        #expect(small.isPublicSuffix("xn--55qx5d.cn"))
        #expect(Punycode.toASCII("bücher.example") == "xn--bcher-kva.example")
        #expect(Punycode.toASCII("München") == "xn--mnchen-3ya")
    }

    // MARK: authorityInfoAccess

    @Test func emptyOrMalformedAuthorityInfoAccessIsRejected() throws {
        for der in ["DER:30:00", "DER:30:02:30:00", "DER:30:05:30:03:06:01:2b", "DER:30:06:30:04:02:01:01:86", "DER:04:00"] {
            let bad = try leaf { $0.extensionOverrides["authorityInfoAccess"] = der }
            for policy in VerificationPolicy.allCases {
                let r = try verify(bad, policy: policy)
                #expect(errorCodes(r) == ["malformed-aia"], "\(der) \(policy): \(r.codes)")
            }
        }
        let good = try leaf { $0.extensionOverrides["authorityInfoAccess"] = "caIssuers;URI:http://ca.example.test/i.der,OCSP;URI:http://ocsp.example.test" }
        #expect(try verify(good).valid)
        #expect(try reread(good[0]).authorityInfoAccess.caIssuers == ["http://ca.example.test/i.der"])
    }

    @Test func extensionDERReadersSurviveTruncatedAndRandomInput() throws {
        let aia: [UInt8] = [0x30, 0x0f, 0x30, 0x0d, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x02, 0x86, 0x01, 0x78]
        let nc: [UInt8] = [0x30, 0x0a, 0xa0, 0x08, 0x30, 0x06, 0x82, 0x04, 0x74, 0x65, 0x73, 0x74]
        #expect(NameConstraintsShape(der: nc, critical: true).dnsBases == ["test"])
        #expect(NameConstraintsShape(der: nc, critical: true).permitted == 1)
        #expect(AuthorityInfoAccessShape.defect(aia) == nil)
        for n in 0..<aia.count { #expect(AuthorityInfoAccessShape.defect(Array(aia.prefix(n))) != nil, "prefix \(n)") }
        for n in 0..<nc.count { #expect(NameConstraintsShape(der: Array(nc.prefix(n)), critical: true).malformed != nil, "prefix \(n)") }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = AuthorityInfoAccessShape.defect([0x30, UInt8(bytes.count)] + bytes)
            _ = NameConstraintsShape(der: [0x30, UInt8(bytes.count)] + bytes, critical: false)
        }
    }

    // MARK: Lifetimes (SC-081v3)

    func lifetimeFindings(from notBefore: Int64, days: Int64, seconds: Int64 = 0, system: Bool, policy: VerificationPolicy = .webpki) throws -> [Finding] {
        let cert = try pki.makeLeaf(from: notBefore) { $0.notAfter = notBefore + days * 86400 + seconds }
        let context = PolicyContext(leaf: cert, chain: [cert, pki.intermediate, pki.root], time: notBefore + 60, key: nil, policy: policy, systemTrust: system)
        return ValidityPeriodPolicy().evaluate(context).findings
    }

    @Test func lifetimeLimitsFollowTheIssuanceDate() throws {
        func day(_ y: Int, _ m: Int, _ d: Int) -> Int64 { RFC3339.daysFromCivil(y, m, d) * 86400 }
        let schedule: [(Int64, Int64)] = [(day(2025, 6, 1), 398), (day(2026, 3, 14) + 86399, 398), (day(2026, 3, 15), 200),
                                          (day(2027, 3, 14), 200), (day(2027, 3, 15), 100), (day(2029, 3, 15), 47), (day(2031, 1, 1), 47)]
        for (notBefore, limit) in schedule {
            #expect(try lifetimeFindings(from: notBefore, days: limit, system: true).isEmpty, "\(RFC3339.format(notBefore)) \(limit)")
            let over = try lifetimeFindings(from: notBefore, days: limit, seconds: 1, system: true)
            #expect(over.map(\.code) == ["validity-too-long"] && over[0].severity == .error, "\(RFC3339.format(notBefore)) \(limit)")
            #expect(over.first?.message.contains("more than \(limit) days") == true, "\(over)")
            let privately = try lifetimeFindings(from: notBefore, days: limit + 1, system: false)
            #expect(privately.map(\.severity) == [.warning], "a private anchor only warns")
            #expect(try lifetimeFindings(from: notBefore, days: limit + 1, system: true, policy: .rfc5280).isEmpty)
        }
    }

    @Test func overlongLeafUnderAPrivateAnchorIsValidWithAWarning() throws {
        let long = try pki.makeLeaf(days: 201)
        let r = try verify([long, pki.intermediate])
        #expect(r.valid && warningCodes(r) == ["validity-too-long"], "\(r.codes)")
        #expect(r.warnings.first.map { $0.message.contains("201 days") && $0.message.contains("2026-03-15") } == true, "\(r.warnings)")
        #expect(try verify([try pki.makeLeaf(days: 200), pki.intermediate]).warnings.isEmpty)
    }
}
