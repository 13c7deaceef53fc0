import Foundation
import Testing
@testable import CertsCore

/// Certificates built by the library, read back by the openssl CLI.
@Suite struct CertificateTests {
    func opensslX509(_ cert: Certificate, _ options: [String]) throws -> String {
        let r = try opensslCLI(["x509", "-noout"] + options, stdin: try cert.pem())
        #expect(r.status == 0)
        return r.stdout
    }

    @Test func builtCertificateFieldsMatchWhatOpenSSLReads() throws {
        let caKey = try PrivateKey.generate(.ecP256)
        var caBuilder = CertificateBuilder(subject: DistinguishedName(commonName: "Core CA", organization: "Core"), publicKey: caKey.publicKey,
                                           notBefore: 1_700_000_000, notAfter: 1_900_000_000)
        caBuilder.isCA = true
        caBuilder.pathLength = 0
        let ca = try caBuilder.sign(with: caKey)

        let key = try PrivateKey.generate(.rsa2048)
        var b = CertificateBuilder.server(names: [.dns("core.example"), .ip("2001:db8::9")], publicKey: key.publicKey,
                                          notBefore: 1_750_000_000, notAfter: 1_750_000_000 + 30 * 86400, issuer: ca)
        b.serial = [0x80, 0x01, 0x02]  // top bit set: must be encoded as a positive integer
        let cert = try b.sign(with: caKey)

        #expect(try opensslX509(cert, ["-serial"]) == "serial=\(cert.serialHex.uppercased())\n")
        #expect(cert.serialHex == "800102")  // the value; its DER encoding carries a 0x00 sign byte
        #expect(try opensslX509(cert, ["-fingerprint", "-sha256"]) == "sha256 Fingerprint=\(cert.fingerprint().colonHex)\n")
        #expect(try opensslX509(cert, ["-enddate", "-dateopt", "iso_8601"])
                == "notAfter=\(RFC3339.format(cert.notAfter).replacingOccurrences(of: "T", with: " "))\n")
        #expect(cert.notBefore == 1_750_000_000)
        #expect(cert.notAfter == 1_750_000_000 + 30 * 86400)
        #expect(try opensslX509(cert, ["-ext", "subjectAltName"]).contains("DNS:core.example, IP Address:2001:DB8:0:0:0:0:0:9"))
        #expect(cert.subjectAlternativeNames == [.dns("core.example"), .ip("2001:db8::9")])
        #expect(cert.authorityKeyIdentifier == ca.subjectKeyIdentifier)
        #expect(cert.subjectKeyIdentifier != nil)
        #expect(try opensslX509(cert, ["-ext", "subjectKeyIdentifier"]).contains(cert.subjectKeyIdentifier!.colonHex))
        #expect(cert.keyUsage == ["digitalSignature", "keyEncipherment"])
        #expect(cert.extendedKeyUsage == ["serverAuth"])
        #expect(!cert.isCA && ca.isCA)
        #expect(ca.basicConstraints?.pathLength == 0)
        #expect(cert.isIssued(by: ca))
        #expect(!ca.isIssued(by: cert))
        #expect(ca.isSelfSigned && !cert.isSelfSigned)
        #expect(cert.signatureAlgorithm == "ecdsa-with-SHA256")
        #expect(cert.publicKey.algorithm == .rsa(bits: 2048))
        #expect(try cert.publicKey.sha256() == Digest.sha256(try key.publicKey.der()))
    }

    @Test func parseAllReadsEveryCertificateInOrderAndRefusesOtherContent() throws {
        let key = try PrivateKey.generate(.ed25519)
        func make(_ cn: String) throws -> Certificate {
            try CertificateBuilder(subject: DistinguishedName(commonName: cn), publicKey: key.publicKey, notBefore: 0, notAfter: 86400).sign(with: key)
        }
        let a = try make("a"), b = try make("b")
        let both = try Certificate.parseAll(try a.pem() + b.pem())
        #expect(both.map(\.subject.commonName) == ["a", "b"])
        #expect(a.signatureAlgorithm == "ED25519")
        #expect(a.signatureDigest == nil)
        #expect(throws: InputError.wrongContent(path: "k", expected: "a certificate", found: "a private key")) {
            try Certificate.parseAll(try key.pem(), source: "k")
        }
    }
}
