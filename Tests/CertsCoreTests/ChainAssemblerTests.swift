import Testing
@testable import CertsCore

/// A small PKI made in-process: root → intermediate(s) → leaf.
struct ChainTestPKI {
    static let now: Int64 = 1_800_000_000
    let rootKey: PrivateKey
    let root: Certificate
    /// Top first: intermediates[0] is signed by the root, the last one signed the leaf.
    let intermediateKeys: [PrivateKey]
    let intermediates: [Certificate]
    let leafKey: PrivateKey
    let leaf: Certificate

    var issuing: Certificate { intermediates.last! }

    init(_ name: String, levels: Int = 1) throws {
        let now = Self.now
        rootKey = try PrivateKey.generate(.ecP256)
        var rb = CertificateBuilder(subject: DistinguishedName(commonName: "\(name) Root"), publicKey: rootKey.publicKey,
                                    notBefore: now - 86400, notAfter: now + 3650 * 86400)
        rb.isCA = true
        root = try rb.sign(with: rootKey)
        var keys: [PrivateKey] = [], certs: [Certificate] = []
        var parent = root, parentKey = rootKey
        for level in 1...levels {
            let k = try PrivateKey.generate(.ecP256)
            var b = CertificateBuilder(subject: DistinguishedName(commonName: "\(name) Intermediate \(level)"), publicKey: k.publicKey,
                                       notBefore: now - 86400, notAfter: now + 1000 * 86400)
            b.isCA = true
            b.issuer = parent
            let c = try b.sign(with: parentKey)
            keys.append(k); certs.append(c)
            parent = c; parentKey = k
        }
        intermediateKeys = keys
        intermediates = certs
        leafKey = try PrivateKey.generate(.ecP256)
        leaf = try CertificateBuilder.server(names: [.dns("www.\(name.lowercased()).example")], publicKey: leafKey.publicKey,
                                             notBefore: now - 3600, notAfter: now + 90 * 86400, issuer: parent).sign(with: parentKey)
    }

    /// A second certificate from the issuing intermediate (same CA, different key).
    func anotherLeaf(_ host: String) throws -> (PrivateKey, Certificate) {
        let k = try PrivateKey.generate(.ecP256)
        let c = try CertificateBuilder.server(names: [.dns(host)], publicKey: k.publicKey, notBefore: Self.now - 3600,
                                              notAfter: Self.now + 90 * 86400, issuer: issuing).sign(with: intermediateKeys.last!)
        return (k, c)
    }
}

@Suite struct ChainAssemblerTests {
    @Test func aShuffledPileBecomesLeafThenIntermediateWithTheRootSetAside() throws {
        let pki = try ChainTestPKI("Shuffle")
        let chain = try ChainAssembler.assemble([pki.root, pki.leaf, pki.issuing])
        #expect(chain.leaf == pki.leaf)
        #expect(chain.intermediates == [pki.issuing])
        #expect(chain.root == pki.root)
        #expect(chain.rootSource == .input)
        #expect(chain.dropped.isEmpty)
        #expect(chain.isComplete)
        #expect(chain.fullchain == [pki.leaf, pki.issuing])
    }

    @Test func severalIntermediatesAreOrderedByWhoIssuedWhomNotByFileOrder() throws {
        let pki = try ChainTestPKI("Deep", levels: 3)
        let (i1, i2, i3) = (pki.intermediates[0], pki.intermediates[1], pki.intermediates[2])
        let chain = try ChainAssembler.assemble([i1, pki.root, i3, pki.leaf, i2])
        #expect(chain.intermediates == [i3, i2, i1])
        #expect(chain.root == pki.root)
        #expect(chain.isComplete)
    }

    @Test func duplicatesAndAnotherCAsCertificatesAreDroppedWithTheirReason() throws {
        let pki = try ChainTestPKI("Mine")
        let other = try ChainTestPKI("Other")
        let chain = try ChainAssembler.assemble([pki.leaf, pki.issuing, other.issuing, pki.issuing, other.root, pki.leaf])
        #expect(chain.fullchain == [pki.leaf, pki.issuing])
        #expect(chain.root == nil)
        let duplicates = chain.dropped.filter { $0.reason == .duplicate }.map(\.certificate)
        let unrelated = chain.dropped.filter { $0.reason == .unrelated }.map(\.certificate)
        #expect(duplicates.count == 2)
        #expect(duplicates.contains(pki.leaf) && duplicates.contains(pki.issuing))
        #expect(unrelated.count == 2)
        #expect(unrelated.contains(other.issuing) && unrelated.contains(other.root))
        #expect(chain.isComplete)
    }

    @Test func aLeafAloneIsMissingItsIssuerByName() throws {
        let pki = try ChainTestPKI("Lonely")
        let chain = try ChainAssembler.assemble([pki.leaf])
        #expect(!chain.isComplete)
        #expect(chain.missingIssuer?.issuer == pki.issuing.subject)
        #expect(chain.missingIssuer?.below == pki.leaf)
        #expect(chain.missingIssuer?.caIssuersURL == nil)
        #expect(chain.missingIssuer?.description.contains("Lonely Intermediate 1") == true)
    }

    @Test func anIntermediateAtTheTopIsCompleteWithoutTrustedRootsBecauseRootsAreNotSent() throws {
        let pki = try ChainTestPKI("Usual")
        let chain = try ChainAssembler.assemble([pki.issuing, pki.leaf])
        #expect(chain.isComplete)
        #expect(chain.root == nil)
    }

    @Test func withTrustedRootsAMissingMiddleIntermediateIsNamed() throws {
        let pki = try ChainTestPKI("Gap", levels: 2)
        let chain = try ChainAssembler.assemble([pki.leaf, pki.intermediates[1]], anchors: [pki.root])
        #expect(!chain.isComplete)
        #expect(chain.missingIssuer?.issuer == pki.intermediates[0].subject)
        #expect(chain.missingIssuer?.below == pki.intermediates[1])
    }

    @Test func aTrustedRootCompletesTheChainWithoutBeingSent() throws {
        let pki = try ChainTestPKI("Anchored")
        let chain = try ChainAssembler.assemble([pki.leaf, pki.issuing], anchors: [pki.root])
        #expect(chain.isComplete)
        #expect(chain.root == pki.root)
        #expect(chain.rootSource == .anchor)
        #expect(chain.fullchain == [pki.leaf, pki.issuing])
        #expect(chain.isAnchored(in: [pki.root]))
        let other = try ChainTestPKI("Stranger")
        #expect(!chain.isAnchored(in: [other.root]))
    }

    @Test func severalLeavesNeedTheKeyToChoose() throws {
        let pki = try ChainTestPKI("Twins")
        let (otherKey, otherLeaf) = try pki.anotherLeaf("api.twins.example")
        #expect(throws: ChainError.self) { try ChainAssembler.assemble([pki.leaf, otherLeaf, pki.issuing]) }
        let chain = try ChainAssembler.assemble([pki.leaf, otherLeaf, pki.issuing], key: otherKey.publicKey)
        #expect(chain.leaf == otherLeaf)
        #expect(chain.intermediates == [pki.issuing])
        #expect(chain.dropped.map(\.reason) == [.otherLeaf])
        #expect(chain.dropped.first?.certificate == pki.leaf)
    }

    @Test func aKeyMatchingNothingLeavesTheLeafChoiceToTheCallersCheck() throws {
        let pki = try ChainTestPKI("Mismatch")
        let stranger = try PrivateKey.generate(.ecP256)
        let chain = try ChainAssembler.assemble([pki.issuing, pki.leaf], key: stranger.publicKey)
        #expect(chain.leaf == pki.leaf)
        #expect(!stranger.matches(chain.leaf.publicKey))
    }

    @Test func aValidRenewedIntermediateIsPreferredOverAnExpiredOneWithTheSameKey() throws {
        let pki = try ChainTestPKI("Renewed")
        var old = CertificateBuilder(subject: pki.issuing.subject, publicKey: pki.intermediateKeys[0].publicKey,
                                     notBefore: ChainTestPKI.now - 900 * 86400, notAfter: ChainTestPKI.now - 86400)
        old.isCA = true
        old.issuer = pki.root
        let expired = try old.sign(with: pki.rootKey)
        let chain = try ChainAssembler.assemble([pki.leaf, expired, pki.issuing], now: ChainTestPKI.now)
        #expect(chain.intermediates == [pki.issuing])
        #expect(chain.dropped.map(\.reason) == [.alternativeIssuer])
        #expect(chain.dropped.first?.certificate == expired)
    }

    @Test func aLookAlikeIssuerWithTheRightNameButAnotherKeyIsNotChained() throws {
        let pki = try ChainTestPKI("Real")
        let fakeKey = try PrivateKey.generate(.ecP256)
        var fb = CertificateBuilder(subject: pki.issuing.subject, publicKey: fakeKey.publicKey,
                                    notBefore: ChainTestPKI.now - 86400, notAfter: ChainTestPKI.now + 86400 * 100)
        fb.isCA = true
        fb.issuer = pki.root
        let fake = try fb.sign(with: pki.rootKey)
        let chain = try ChainAssembler.assemble([fake, pki.leaf])
        #expect(chain.intermediates.isEmpty)
        #expect(chain.missingIssuer?.issuer == pki.issuing.subject)
        #expect(!pki.leaf.isSignedBy(fake))
        #expect(pki.leaf.isSignedBy(pki.issuing))
    }

    @Test func aSelfSignedCertificateAloneIsACompleteChainOfOne() throws {
        let key = try PrivateKey.generate(.ecP256)
        let cert = try CertificateBuilder.server(names: [.dns("self.example")], publicKey: key.publicKey,
                                                 notBefore: ChainTestPKI.now, notAfter: ChainTestPKI.now + 86400, issuer: nil).sign(with: key)
        let chain = try ChainAssembler.assemble([cert], key: key.publicKey)
        #expect(chain.isComplete)
        #expect(chain.fullchain == [cert])
        #expect(chain.root == nil)
    }

    @Test func anEmptyPileIsAnInputError() {
        #expect(throws: ChainError.noCertificates) { try ChainAssembler.assemble([]) }
    }
}
