import Foundation
import Testing
@testable import CertsCore

/// A root → intermediate → leaf PKI built with the library, at a fixed time.
struct VerifyPKI {
    static let now: Int64 = 1_780_000_000  // 2026-05-28
    let rootKey: PrivateKey, root: Certificate
    let intermediateKey: PrivateKey, intermediate: Certificate
    let leafKey: PrivateKey, leaf: Certificate

    init() throws {
        rootKey = try PrivateKey.generate(.ecP256)
        var r = CertificateBuilder(subject: DistinguishedName(commonName: "Verify Root", organization: "Verify"), publicKey: rootKey.publicKey,
                                   notBefore: Self.now - 86400 * 365, notAfter: Self.now + 86400 * 3650)
        r.isCA = true
        r.pathLength = 1
        root = try r.sign(with: rootKey)
        intermediateKey = try PrivateKey.generate(.ecP256)
        var i = CertificateBuilder(subject: DistinguishedName(commonName: "Verify Intermediate", organization: "Verify"), publicKey: intermediateKey.publicKey,
                                   notBefore: Self.now - 86400 * 365, notAfter: Self.now + 86400 * 1825)
        i.isCA = true
        i.pathLength = 0
        i.issuer = root
        intermediate = try i.sign(with: rootKey)
        let k = try PrivateKey.generate(.ecP256)
        leafKey = k
        leaf = try CertificateBuilder.server(names: [.dns("www.example.test"), .dns("example.test"), .ip("127.0.0.1")], publicKey: k.publicKey,
                                             notBefore: Self.now - 86400, notAfter: Self.now - 86400 + 90 * 86400, issuer: intermediate)
            .sign(with: intermediateKey)
    }

    /// A leaf from the intermediate; `adjust` changes the profile before signing.
    func makeLeaf(names: [GeneralName] = [.dns("www.example.test"), .dns("example.test"), .ip("127.0.0.1")],
                  from notBefore: Int64 = now - 86400, days: Int64 = 90, key: PrivateKey? = nil,
                  _ adjust: (inout CertificateBuilder) -> Void = { _ in }) throws -> Certificate {
        let k = key ?? leafKey
        var b = CertificateBuilder.server(names: names, publicKey: k.publicKey, notBefore: notBefore, notAfter: notBefore + days * 86400, issuer: intermediate)
        adjust(&b)
        return try b.sign(with: intermediateKey)
    }

    func verifier(host: String? = "www.example.test", at time: Int64 = now, key: PrivateKey? = nil) throws -> ChainVerifier {
        ChainVerifier(trust: try TrustStore.certificates([root], origin: "--trust root.pem"), host: host, time: time, key: key)
    }
}

@Suite struct VerifyTests {
    let pki: VerifyPKI
    init() throws { pki = try VerifyPKI() }

    func verify(_ certs: [Certificate], host: String? = "www.example.test", at time: Int64 = VerifyPKI.now, key: PrivateKey? = nil) throws -> VerificationReport {
        try pki.verifier(host: host, at: time, key: key).verify(fileCertificates: certs, source: "fullchain.pem")
    }

    func error(_ r: VerificationReport, _ code: String) -> Finding? { r.errors.first { $0.code == code } }
    func warning(_ r: VerificationReport, _ code: String) -> Finding? { r.warnings.first { $0.code == code } }

    @Test func goodChainIsValidWithLeafIntermediateAndRootListed() throws {
        let r = try verify([pki.leaf, pki.intermediate])
        #expect(r.valid, "\(r.errors)")
        #expect(r.errors.isEmpty && r.warnings.isEmpty, "\(r.codes)")
        #expect(r.chain.map(\.role) == [.leaf, .intermediate, .root])
        #expect(r.chain.map(\.subject) == ["CN=www.example.test", "CN=Verify Intermediate, O=Verify", "CN=Verify Root, O=Verify"])
        #expect(r.chain[0].sha256Fingerprint == pki.leaf.fingerprint().hexString)
        #expect(r.chain[2].presented == false)
    }

    @Test func expiredLeafIsRejectedWithItsExpiryDate() throws {
        let r = try verify([pki.leaf, pki.intermediate], at: pki.leaf.notAfter + 3 * 86400)
        #expect(!r.valid)
        let f = try #require(error(r, "expired"), "\(r.codes)")
        #expect(f.message.contains(RFC3339.format(pki.leaf.notAfter)))
        #expect(f.message.contains("3 days before"))
        #expect(f.message.contains("leaf"))
    }

    @Test func notYetValidLeafNamesWhenItStarts() throws {
        let future = try pki.makeLeaf(from: VerifyPKI.now + 10 * 86400)
        let r = try verify([future, pki.intermediate])
        let f = try #require(error(r, "not-yet-valid"), "\(r.codes)")
        #expect(f.message.contains(RFC3339.format(future.notBefore)))
    }

    @Test func expiredIntermediateIsNamedAsTheIntermediate() throws {
        let r = try verify([pki.leaf, pki.intermediate], at: pki.intermediate.notAfter + 86400)
        let expired = r.errors.filter { $0.code == "expired" }
        #expect(expired.contains { $0.message.contains("the intermediate \"CN=Verify Intermediate") }, "\(expired)")
    }

    @Test func hostnameNotInSANsListsTheSANs() throws {
        let r = try verify([pki.leaf, pki.intermediate], host: "other.example.test")
        let f = try #require(error(r, "hostname-mismatch"), "\(r.codes)")
        #expect(f.message.contains("other.example.test"))
        #expect(f.message.contains("DNS:www.example.test, DNS:example.test, IP:127.0.0.1"))
    }

    @Test func hostIsMatchedCaseInsensitivelyAndWithTrailingDot() throws {
        #expect(try verify([pki.leaf, pki.intermediate], host: "WWW.Example.Test.").valid)
    }

    @Test func ipHostMatchesOnlyIPSANs() throws {
        #expect(try verify([pki.leaf, pki.intermediate], host: "127.0.0.1").valid)
        let r = try verify([pki.leaf, pki.intermediate], host: "127.0.0.2")
        #expect(error(r, "hostname-mismatch")?.message.contains("IP address 127.0.0.2") == true, "\(r.errors)")
        let v6 = try pki.makeLeaf(names: [.dns("v6.example.test"), .ip("::1")])
        #expect(try verify([v6, pki.intermediate], host: "[::1]").valid)
        #expect(try verify([v6, pki.intermediate], host: "0:0::1").valid)
    }

    @Test func nameOnlyInCommonNameFailsHostCheckAndIsReportedAsMissingSAN() throws {
        let cnOnly = try pki.makeLeaf { $0.subjectAlternativeNames = [] }
        #expect(cnOnly.subject.commonName == "www.example.test")
        let r = try verify([cnOnly, pki.intermediate])
        #expect(error(r, "hostname-mismatch")?.message.contains("only in the subject CN") == true, "\(r.errors)")
        #expect(error(r, "missing-san") != nil)
        // Even without --host, a server certificate without SANs is unusable.
        #expect(error(try verify([cnOnly, pki.intermediate], host: nil), "missing-san") != nil)
    }

    @Test func missingIntermediateIsAnUnknownIssuerNamingIt() throws {
        let r = try verify([pki.leaf])
        let f = try #require(error(r, "unknown-issuer"), "\(r.codes)")
        #expect(f.message.contains("\"CN=Verify Intermediate, O=Verify\""))
        #expect(f.message.contains("--trust root.pem"))
        #expect(r.errors.filter { $0.code == "unknown-issuer" }.count == 1, "one problem, one finding: \(r.errors)")
    }

    @Test func untrustedRootIsReported() throws {
        let otherRoot = try VerifyPKI()
        let v = ChainVerifier(trust: try TrustStore.certificates([otherRoot.root], origin: "--trust other.pem"), host: nil, time: VerifyPKI.now)
        let r = try v.verify(fileCertificates: [pki.leaf, pki.intermediate], source: "x")
        #expect(!r.valid)
        #expect(error(r, "unknown-issuer")?.message.contains("\"CN=Verify Root, O=Verify\"") == true, "\(r.errors)")
    }

    @Test func reorderedBundleIsAChainOrderWarningNotAnError() throws {
        // RFC 8446 4.4.2: clients tolerate any order; curl, Python and s_client accept it.
        let r = try verify([pki.leaf, pki.root, pki.intermediate])
        #expect(r.valid, "\(r.errors)")
        #expect(error(r, "chain-order") == nil)
        let f = try #require(warning(r, "chain-order"), "\(r.codes)")
        #expect(f.message.contains("certs bundle"))
        #expect(f.message.contains("expected leaf → \"CN=Verify Intermediate, O=Verify\" → \"CN=Verify Root, O=Verify\""))
    }

    @Test func includedRootDuplicateAndUnrelatedCertificatesAreWarningsOnly() throws {
        let stranger = try VerifyPKI().intermediate
        let r = try verify([pki.leaf, pki.intermediate, pki.intermediate, stranger, pki.root])
        #expect(r.valid, "\(r.errors)")
        #expect(warning(r, "duplicate-certificate")?.message.contains("certificate 3 of fullchain.pem") == true, "\(r.warnings)")
        let superfluous = r.warnings.filter { $0.code == "superfluous-certificate" }
        #expect(superfluous.count == 2, "\(superfluous)")
        #expect(superfluous.contains { $0.message.contains("the root \"CN=Verify Root") })
        #expect(superfluous.contains { $0.message.contains("certificate 4 of fullchain.pem") && $0.message.contains("not part of") })
        #expect(error(r, "chain-order") == nil)
    }

    @Test func sameCertificateInFileAndChainOptionIsNotADuplicate() throws {
        let r = try pki.verifier().verify(fileCertificates: [pki.leaf, pki.intermediate], source: "fullchain.pem", extraChain: [pki.intermediate])
        #expect(r.valid && r.warnings.isEmpty, "\(r.codes)")
    }

    @Test func caFlaggedLeafIsRejected() throws {
        // A CA may not sign below pathlen 0: sign it from the root so only the leaf policy speaks.
        var b = CertificateBuilder.server(names: [.dns("www.example.test")], publicKey: pki.leafKey.publicKey,
                                          notBefore: VerifyPKI.now - 86400, notAfter: VerifyPKI.now + 86400 * 30, issuer: pki.intermediate)
        b.isCA = true
        let caLeaf = try b.sign(with: pki.intermediateKey)
        let r = try verify([caLeaf, pki.intermediate])
        #expect(error(r, "leaf-is-ca")?.message.contains("CA:TRUE") == true, "\(r.codes)")
    }

    @Test func clientOnlyExtendedKeyUsageIsTheWrongPurpose() throws {
        let client = try pki.makeLeaf { $0.extendedKeyUsage = "clientAuth" }
        let r = try verify([client, pki.intermediate])
        let purpose = r.errors.filter { $0.code == "wrong-purpose" }
        #expect(purpose.count == 1, "\(r.errors)")
        #expect(purpose.first?.message.contains("clientAuth") == true)
        #expect(purpose.first?.message.contains("serverAuth") == true)
    }

    @Test func keyEnciphermentOnAnECKeyIsAKeyUsageWarningNotAnError() throws {
        let odd = try pki.makeLeaf { $0.keyUsage = "critical,digitalSignature,keyEncipherment" }
        let r = try verify([odd, pki.intermediate])
        #expect(warning(r, "key-usage")?.message.contains("keyEncipherment") == true, "\(r.codes)")
        #expect(r.valid, "\(r.codes)")
        let bad = try pki.makeLeaf { $0.keyUsage = "critical,keyEncipherment" }
        let refused = try verify([bad, pki.intermediate])
        #expect(!refused.valid && refused.errors.contains { $0.message.contains("digitalSignature") }, "\(refused.errors)")
    }

    @Test func rsaLeafNeedsSignatureOrEncipherment() throws {
        let rsaKey = try PrivateKey.generate(.rsa2048)
        let ok = try pki.makeLeaf(key: rsaKey)
        #expect(try verify([ok, pki.intermediate]).valid)
        let bad = try pki.makeLeaf(key: rsaKey) { $0.keyUsage = "critical,keyAgreement" }
        #expect(error(try verify([bad, pki.intermediate]), "key-usage")?.message.contains("RSA") == true)
    }

    @Test func overlongValidityIsAWarningNotAnErrorUnderAPrivateAnchor() throws {
        let long = try pki.makeLeaf(days: 825)
        let r = try verify([long, pki.intermediate])
        #expect(r.valid, "\(r.errors)")
        #expect(warning(r, "validity-too-long")?.message.contains("825 days") == true, "\(r.warnings)")
        // Issued 2026-05-27: since 2026-03-15 the limit is 200 days (SC-081v3), no longer 398.
        #expect(warning(try verify([try pki.makeLeaf(days: 398), pki.intermediate]), "validity-too-long") != nil)
        #expect(warning(try verify([try pki.makeLeaf(days: 200), pki.intermediate]), "validity-too-long") == nil)
    }

    @Test func sha1SignedLeafIsRejected() throws {
        let sha1 = try pki.makeLeaf { $0.digestName = "SHA1" }
        #expect(sha1.signatureDigest == "SHA1")
        let r = try verify([sha1, pki.intermediate])
        #expect(error(r, "sha1-signature")?.message.contains("SHA-1") == true, "\(r.codes)")
    }

    @Test func privateKeyOfAnotherCertificateIsAKeyMismatch() throws {
        #expect(try verify([pki.leaf, pki.intermediate], key: pki.leafKey).valid)
        let other = try PrivateKey.generate(.ecP256)
        let r = try verify([pki.leaf, pki.intermediate], key: other)
        #expect(error(r, "key-mismatch") != nil, "\(r.codes)")
    }

    @Test func selfSignedLeafIsNamedSelfSigned() throws {
        let key = try PrivateKey.generate(.ecP256)
        let selfSigned = try CertificateBuilder.server(names: [.dns("www.example.test")], publicKey: key.publicKey,
                                                       notBefore: VerifyPKI.now - 60, notAfter: VerifyPKI.now + 86400, issuer: nil).sign(with: key)
        let r = try verify([selfSigned])
        #expect(error(r, "self-signed")?.message.contains("not in --trust root.pem") == true, "\(r.codes)")
    }

    @Test func intermediateTakenFromTheTrustStoreIsAWarningForFiles() throws {
        let v = ChainVerifier(trust: try TrustStore.certificates([pki.root, pki.intermediate], origin: "--trust bundle.pem"),
                              host: "www.example.test", time: VerifyPKI.now)
        let r = try v.verify(fileCertificates: [pki.leaf], source: "cert.pem")
        #expect(r.valid, "\(r.errors)")
        #expect(warning(r, "missing-intermediate")?.message.contains("CN=Verify Intermediate") == true, "\(r.codes)")
    }

    @Test func verifyingManyChainsReusesOneStore() throws {
        let v = try pki.verifier()
        for _ in 0..<50 {
            #expect(try v.verify(fileCertificates: [pki.leaf, pki.intermediate], source: "x").valid)
        }
    }

    @Test func jsonHasTheDocumentedShape() throws {
        let r = try verify([pki.leaf, pki.intermediate], host: "nope.example.test")
        let text = VerificationReport.document([r]).rendered()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["version"] as? Int == 1)
        let result = try #require((object["results"] as? [[String: Any]])?.first)
        #expect(result["source"] as? String == "fullchain.pem")
        #expect(result["valid"] as? Bool == false)
        #expect(result["host"] as? String == "nope.example.test")
        #expect(result["at"] as? String == RFC3339.format(VerifyPKI.now))
        let chain = try #require(result["chain"] as? [[String: Any]])
        #expect(chain.map { $0["role"] as? String } == ["leaf", "intermediate", "root"])
        #expect(Set(chain[0].keys) == ["subject", "issuer", "notAfter", "sha256Fingerprint", "role"])
        let errors = try #require(result["errors"] as? [[String: Any]])
        #expect(errors.first?["code"] as? String == "hostname-mismatch")
        #expect(result["connection"] == nil)
        #expect(text.hasPrefix("{\n  \"version\": 1,"))
    }

    // MARK: Served chains (no network: the served chain is a value)

    func served(_ certs: [Certificate]) -> ServedChain {
        ServedChain(endpoint: Endpoint(host: "www.example.test", port: 443), address: "127.0.0.1:443", sni: "www.example.test",
                    protocolVersion: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", certificates: certs)
    }

    @Test func servedLeafWithoutIntermediateIsAMissingIntermediateWhenChainHintHasIt() throws {
        let r = try pki.verifier().verify(served: served([pki.leaf]), hints: [pki.intermediate], hintOrigin: "--chain chain.pem")
        let f = try #require(error(r, "missing-intermediate"), "\(r.codes)")
        #expect(f.message.contains("\"CN=Verify Intermediate, O=Verify\""))
        #expect(f.message.contains("--chain chain.pem"))
        #expect(error(r, "unknown-issuer") == nil)
        #expect(r.connection?.protocolVersion == "TLSv1.3")
    }

    @Test func servedLeafWithoutIntermediateIsAnErrorEvenWhenTrustHasIt() throws {
        let v = ChainVerifier(trust: try TrustStore.certificates([pki.root, pki.intermediate], origin: "--trust bundle.pem"),
                              host: "www.example.test", time: VerifyPKI.now)
        let r = try v.verify(served: served([pki.leaf]))
        #expect(!r.valid)
        #expect(error(r, "missing-intermediate") != nil, "\(r.codes)")
    }

    @Test func expectedCertificateMismatchSaysWhichIsNewer() throws {
        let newer = try pki.makeLeaf(from: VerifyPKI.now - 3600)
        let r = try pki.verifier().verify(served: served([pki.leaf, pki.intermediate]), expected: newer, expectedOrigin: "new.pem")
        let f = try #require(error(r, "unexpected-certificate"), "\(r.codes)")
        #expect(f.message.contains("served one is older"))
        #expect(f.message.contains("new.pem"))
        let r2 = try pki.verifier().verify(served: served([newer, pki.intermediate]), expected: pki.leaf, expectedOrigin: "old.pem")
        #expect(error(r2, "unexpected-certificate")?.message.contains("served one is newer") == true)
        #expect(try pki.verifier().verify(served: served([pki.leaf, pki.intermediate]), expected: pki.leaf).valid)
    }
}

@Suite struct VerifyEndpointTests {
    @Test func endpointsParseHostPortAndBracketedIPv6() throws {
        #expect(try Endpoint(parsing: "example.com:8443") == Endpoint(host: "example.com", port: 8443))
        #expect(try Endpoint(parsing: "[::1]:443") == Endpoint(host: "::1", port: 443))
        #expect(try Endpoint(parsing: "127.0.0.1:1") == Endpoint(host: "127.0.0.1", port: 1))
        #expect(try Endpoint(parsing: "Example.COM") == Endpoint(host: "example.com", port: 443))
        #expect(try Endpoint(parsing: "::1") == Endpoint(host: "::1", port: 443))
        #expect(Endpoint(host: "::1", port: 443).description == "[::1]:443")
        for bad in ["", ":443", "host:0", "host:65536", "host:https", "[::1", "[example.com]:443", "a b:1"] {
            #expect(throws: InputError.self, "\(bad)") { try Endpoint(parsing: bad) }
        }
    }

    @Test func connectionRefusedIsARemoteErrorNamingTheAddress() throws {
        let port = UInt16(VerifyTestPorts.closedPort())
        let error = #expect(throws: TLSError.self) { try TLSClient.fetch(host: "127.0.0.1", port: port, timeout: 2) }
        #expect(error?.kind == .remote)
        #expect(error?.description.contains("127.0.0.1:\(port)") == true)
        #expect(error?.description.contains("refused") == true, "\(String(describing: error))")
    }

    @Test func silentServerTimesOutWithinTheTimeout() throws {
        let (fd, port) = VerifyTestPorts.listeningSocket()
        defer { close(fd) }
        let start = Date()
        let error = #expect(throws: TLSError.self) { try TLSClient.fetch(host: "127.0.0.1", port: port, timeout: 0.5) }
        #expect(Date().timeIntervalSince(start) < 3)
        #expect(error?.description.contains("no answer within 0.5 s during the TLS handshake") == true, "\(String(describing: error))")
    }
}

enum VerifyTestPorts {
    /// A listening socket on 127.0.0.1 that never accepts (the kernel completes TCP; TLS never starts).
    static func listeningSocket() -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = listen(fd, 4)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    /// A port nothing listens on (bound, then closed).
    static func closedPort() -> UInt16 {
        let (fd, port) = listeningSocket()
        close(fd)
        return port
    }
}
