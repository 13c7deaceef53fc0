import Testing
@testable import CertsCore

@Suite struct ChainPKCS12ExportTests {
    @Test func anExportedArchiveReopensWithItsPassphraseHoldingKeyCertificateAndChain() throws {
        let pki = try ChainTestPKI("Export")
        let bytes = try PKCS12Writer.archive(key: pki.leafKey, certificate: pki.leaf, chain: [pki.issuing],
                                             passphrase: Passphrase("s3cret pass"), friendlyName: "www")
        let doc = try CryptoDocument(bytes: bytes, source: "export.p12", passphrase: Passphrase("s3cret pass"))
        #expect(doc.wasPKCS12)
        #expect(doc.privateKeys.count == 1)
        #expect(doc.privateKeys.first?.matches(pki.leaf.publicKey) == true)
        #expect(doc.certificates.count == 2)
        #expect(doc.certificates.contains(pki.leaf) && doc.certificates.contains(pki.issuing))
    }

    @Test func anExportedArchiveRefusesTheWrongPassphrase() throws {
        let pki = try ChainTestPKI("Locked")
        let bytes = try PKCS12Writer.archive(key: pki.leafKey, certificate: pki.leaf, chain: [],
                                             passphrase: Passphrase("right"))
        #expect(throws: PassphraseError.wrong(path: "x.p12")) {
            try CryptoDocument(bytes: bytes, source: "x.p12", passphrase: Passphrase("wrong"))
        }
        #expect(throws: PassphraseError.required(path: "x.p12")) {
            try CryptoDocument(bytes: bytes, source: "x.p12")
        }
    }

    @Test func exportRefusesAKeyThatIsNotTheCertificates() throws {
        let pki = try ChainTestPKI("Wrong")
        #expect(throws: StoreError.self) {
            try PKCS12Writer.archive(key: pki.intermediateKeys[0], certificate: pki.leaf, chain: [], passphrase: Passphrase("x"))
        }
    }
}
