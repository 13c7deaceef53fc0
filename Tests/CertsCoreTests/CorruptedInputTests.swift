import Foundation
import Testing
@testable import CertsCore

/// Regressions found by the bad-input corpus (scripts/make-corpus): each once crashed or ended in
/// an internal error instead of a clear input error.
@Suite struct CorruptedInputTests {
    /// A certificate whose EC point no longer decodes (one flipped bit in the key): `inspect`
    /// trapped on the missing key and `verify` ended in OpenSSL's "internal error".
    func certificateWithUndecodableKey() throws -> (der: [UInt8], pem: [UInt8]) {
        let key = try PrivateKey.generate(.ecP256)
        let now = currentUnixTime()
        let cert = try CertificateBuilder(subject: DistinguishedName(commonName: "corrupt.example"), publicKey: key.publicKey,
                                          notBefore: now - 60, notAfter: now + 86400).sign(with: key)
        var der = try cert.der()
        let point = Array(try key.publicKey.der().suffix(65))  // 0x04 || X || Y
        #expect(point.first == 0x04)
        let at = try #require((0...(der.count - point.count)).first { Array(der[$0..<($0 + point.count)]) == point })
        der[at] = 0x05  // no such point form (0x06/0x07 are hybrid forms OpenSSL accepts)
        let b64 = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return (der, Array("-----BEGIN CERTIFICATE-----\n\(b64)\n-----END CERTIFICATE-----\n".utf8))
    }

    @Test func aCertificateWhosePublicKeyDoesNotDecodeIsMalformedInputInPEMAndDER() throws {
        let bad = try certificateWithUndecodableKey()
        for bytes in [bad.pem, bad.der] {
            do {
                _ = try CryptoDocument(bytes: bytes, source: "bad.pem")
                Issue.record("a certificate with an undecodable key was accepted")
            } catch let error as InputError {
                #expect(error.description.contains("public key cannot be decoded"), "\(error)")
            }
        }
        // The batch parser (verify, check) does not decode keys up front; the verifier names it.
        let parsed = try CertificateParser().certificates(in: bad.pem, source: "bad.pem")
        let verifier = ChainVerifier(trust: try TrustStore.certificates([], origin: "none"), host: nil, time: currentUnixTime(), key: nil)
        #expect(throws: InputError.self) { _ = try verifier.verify(fileCertificates: parsed, source: "bad.pem") }
    }

    @Test func thePublicKeyOfSuchACertificateFromTheWireIsEmptyNotACrash() throws {
        let bad = try certificateWithUndecodableKey()
        // What a TLS peer could hand us: parsed without our checks.
        let cert = try #require(Certificate.parseDER(bad.der))
        #expect(!cert.hasDecodablePublicKey)
        let other = try PrivateKey.generate(.ecP256)
        #expect(!other.matches(cert.publicKey))
    }

    @Test func aFileWithMorePEMBlocksThanAnyBundleIsRefusedQuickly() throws {
        let key = try PrivateKey.generate(.ecP256)
        let now = currentUnixTime()
        let pem = try CertificateBuilder(subject: DistinguishedName(commonName: "many.example"), publicKey: key.publicKey,
                                         notBefore: now - 60, notAfter: now + 86400).sign(with: key).pem()
        let many = Array([[UInt8]](repeating: pem, count: PEMBlock.maximumBlocks + 1).joined())
        #expect(throws: InputError.self) { _ = try CryptoDocument(bytes: many, source: "many.pem") }
        #expect(throws: InputError.self) { _ = try CertificateParser().certificates(in: many, source: "many.pem") }
        let enough = Array([[UInt8]](repeating: pem, count: 150).joined())  // a CA bundle's size
        #expect(try CryptoDocument(bytes: enough, source: "bundle.pem").certificates.count == 150)
    }
}
