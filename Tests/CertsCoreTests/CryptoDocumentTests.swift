import Foundation
import Testing
@testable import CertsCore

@Suite struct CryptoDocumentTests {
    /// A self-signed certificate built by the library (EC P-256).
    func makeCertificate() throws -> (Certificate, PrivateKey) {
        let key = try PrivateKey.generate(.ecP256)
        var b = CertificateBuilder(subject: DistinguishedName(commonName: "doc.example"), publicKey: key.publicKey,
                                   notBefore: 1_700_000_000, notAfter: 1_700_000_000 + 86400)
        b.subjectAlternativeNames = [.dns("doc.example")]
        return (try b.sign(with: key), key)
    }

    @Test func pemInputIsDetectedAsPEM() throws {
        let (cert, _) = try makeCertificate()
        let doc = try CryptoDocument(bytes: try cert.pem(), source: "t")
        #expect(doc.encoding == .pem)
        #expect(doc.certificates.count == 1)
        #expect(doc.certificates.first == cert)
    }

    @Test func derInputIsDetectedAsDER() throws {
        let (cert, _) = try makeCertificate()
        let der = try cert.der()
        #expect(der.first == 0x30)
        let doc = try CryptoDocument(bytes: der, source: "t")
        #expect(doc.encoding == .der)
        #expect(doc.certificates.first == cert)
    }

    @Test func pemWithLeadingTextAndSeveralBlocksKeepsFileOrder() throws {
        let (a, keyA) = try makeCertificate()
        let (b, _) = try makeCertificate()
        let text = Array("Bag Attributes\n  friendlyName: x\n".utf8) + (try a.pem()) + Array("\n\n".utf8) + (try b.pem()) + (try keyA.pem())
        let doc = try CryptoDocument(bytes: text, source: "t")
        #expect(doc.encoding == .pem)
        #expect(doc.certificates == [a, b])
        #expect(doc.privateKeys.count == 1)
        #expect(doc.privateKeys.first?.matches(a.publicKey) == true)
        #expect(doc.contentDescription == "2 certificates and a private key")
    }

    @Test func derPrivateKeysPlainAndEncryptedAreDetected() throws {
        let key = try PrivateKey.generate(.ed25519)
        let plain = try CryptoDocument(bytes: try key.der(), source: "t")
        #expect(plain.encoding == .der)
        #expect(plain.privateKeys.first?.matches(key.publicKey) == true)
        let secret = Passphrase("s3cret")
        let encrypted = try key.der(passphrase: secret)
        #expect(throws: PassphraseError.required(path: "t")) { try CryptoDocument(bytes: encrypted, source: "t") }
        #expect(throws: PassphraseError.wrong(path: "t")) { try CryptoDocument(bytes: encrypted, source: "t", passphrase: Passphrase("nope")) }
        let opened = try CryptoDocument(bytes: encrypted, source: "t", passphrase: secret)
        #expect(opened.privateKeys.first?.matches(key.publicKey) == true)
    }

    @Test func encryptedPEMKeyNeedsTheRightPassphrase() throws {
        let key = try PrivateKey.generate(.ecP384)
        let pem = try key.pem(passphrase: Passphrase("pw"))
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
        #expect(throws: PassphraseError.required(path: "k")) { try CryptoDocument(bytes: pem, source: "k") }
        #expect(throws: PassphraseError.wrong(path: "k")) { try CryptoDocument(bytes: pem, source: "k", passphrase: Passphrase("px")) }
        #expect(try CryptoDocument(bytes: pem, source: "k", passphrase: Passphrase("pw")).privateKeys.first?.matches(key.publicKey) == true)
    }

    @Test func emptyInputIsReportedAsEmpty() {
        #expect(throws: InputError.empty(path: "e")) { try CryptoDocument(bytes: [], source: "e") }
    }

    @Test func garbageIsUnrecognisedNotACrash() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let bytes = (0..<Int.random(in: 1...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            do {
                let doc = try CryptoDocument(bytes: bytes, source: "g")
                Issue.record("random bytes parsed as \(doc.contentDescription)")
            } catch let e as InputError {
                if case .unrecognized = e {} else if case .malformed = e {} else {
                    Issue.record("unexpected \(e)")
                }
            } catch PassphraseError.required {
            } catch {
                Issue.record("non-input error \(error)")
            }
        }
        #expect(throws: InputError.unrecognized(path: "g", detail: "text without a -----BEGIN line")) {
            try CryptoDocument(bytes: Array("hello world\n".utf8), source: "g")
        }
    }

    @Test func truncatedPEMIsMalformedAndSaysSo() throws {
        let (cert, _) = try makeCertificate()
        let pem = try cert.pem()
        do {
            _ = try CryptoDocument(bytes: Array(pem.prefix(pem.count / 2)), source: "cut")
            Issue.record("a truncated PEM parsed")
        } catch let InputError.malformed(path, what, detail) {
            #expect(path == "cut" && what == "PEM")
            #expect(detail.contains("truncated"))
        }
    }

    @Test func truncatedDERIsNotACertificate() throws {
        let (cert, _) = try makeCertificate()
        let der = try cert.der()
        #expect(throws: InputError.self) { try CryptoDocument(bytes: Array(der.prefix(der.count - 1)), source: "cut") }
        #expect(throws: InputError.self) { try CryptoDocument(bytes: der + [0], source: "long") }
    }

    @Test func unknownPEMBlocksAreNamedInTheError() {
        let text = Array("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".utf8)
        #expect(throws: InputError.unrecognized(path: "c", detail: "PEM blocks: X509 CRL")) { try CryptoDocument(bytes: text, source: "c") }
    }

    /// CRLs and OCSP responses go through the same reader: DER, PEM (also after other blocks),
    /// and the one message for anything else; `inspect`'s document still lists the CRL as skipped.
    @Test func aCRLReadsAsDERAndAsPEMAfterOtherBlocksThroughTheOneReader() throws {
        let root = FileManager.default.temporaryDirectory.path + "/certs-crl-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ca = try LocalCA.create(store: root, now: 1_789_000_000)
        let path = "\(root)/ca.crl"
        _ = try LocalCACRLPublishing(path: path).run(store: root, clock: .fixed(1_790_000_000))
        let published = try FileSystem.read(path)
        let pemText = try opensslCLI(["crl", "-in", path, "-outform", "PEM"])
        let derPath = "\(root)/ca.der"
        _ = try opensslCLI(["crl", "-in", path, "-outform", "DER", "-out", derPath])
        let pem = Array(pemText.stdout.utf8), der = try FileSystem.read(derPath)
        #expect(pemText.status == 0 && der.first == 0x30)

        let mixed = try ca.intermediate.pem() + pem
        for bytes in [published, pem, der, mixed] {
            let crl = try RevocationList(bytes: bytes, source: "c")
            #expect(crl.isSigned(by: ca.intermediate) && crl.thisUpdate == 1_790_000_000)
        }
        #expect(try CryptoDocument(bytes: mixed, source: "m").skippedBlocks == ["X509 CRL"])
        for bad in [try ca.intermediate.pem(), try ca.intermediate.der(), Array(der.prefix(20)), [], Array("-----BEGIN X509 CRL-----\nAAAA\n".utf8)] {
            #expect(throws: RevocationError.notACRL(source: "x")) { try RevocationList(bytes: bad, source: "x") }
        }
        #expect("\(RevocationError.notACRL(source: "x"))" == "x is not a CRL (neither DER nor PEM X509 CRL)")
        #expect(CryptoDocument.ocspResponse(der) == nil && CryptoDocument.ocspResponse([]) == nil)
    }
}
