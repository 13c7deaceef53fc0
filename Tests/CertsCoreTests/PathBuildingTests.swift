import COpenSSL
import Foundation
import Testing
@testable import CertsCore

/// Certificates made for path-building cases: CA certificates with any issuer, validity, pathlen
/// and name constraints, and leaves, at a fixed time.
struct PathPKI {
    static let now: Int64 = 1_780_000_000  // 2026-05-28
    static let year: Int64 = 365 * 86400

    struct Issuer {
        let certificate: Certificate
        let key: PrivateKey
    }

    /// A CA certificate for `key` named `cn`, issued by `issuer` (self-signed when nil).
    static func ca(_ cn: String, key: PrivateKey, issuer: Issuer? = nil, notBefore: Int64 = now - year, notAfter: Int64 = now + 5 * year,
                   pathLength: Int? = nil, nameConstraints: String? = nil) throws -> Issuer {
        var b = CertificateBuilder(subject: DistinguishedName(commonName: cn), publicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter)
        b.isCA = true
        b.pathLength = pathLength
        b.issuer = issuer?.certificate
        let signer = issuer?.key ?? key
        var cert = try b.sign(with: signer)
        if let nameConstraints { cert = try adding(NID_name_constraints, nameConstraints, to: cert, issuer: issuer?.certificate, signer: signer) }
        return Issuer(certificate: cert, key: key)
    }

    /// A new CA with a fresh key.
    static func ca(_ cn: String, issuer: Issuer? = nil, notBefore: Int64 = now - year, notAfter: Int64 = now + 5 * year,
                   pathLength: Int? = nil) throws -> Issuer {
        try ca(cn, key: try PrivateKey.generate(.ecP256), issuer: issuer, notBefore: notBefore, notAfter: notAfter, pathLength: pathLength)
    }

    static func leaf(_ issuer: Issuer, name: String = "www.example.test", notBefore: Int64 = now - 86400, notAfter: Int64 = now + 89 * 86400) throws -> Certificate {
        let key = try PrivateKey.generate(.ecP256)
        return try CertificateBuilder.server(names: [.dns(name)], publicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter,
                                             issuer: issuer.certificate).sign(with: issuer.key)
    }

    /// `cert` with one more extension, signed again (the builder has no name constraints).
    static func adding(_ nid: Int32, _ value: String, to cert: Certificate, issuer: Certificate?, signer: PrivateKey) throws -> Certificate {
        let x = try #require(X509_dup(cert.pointer))
        let copy = Certificate(owning: x)
        let ext = try #require(certs_make_extension(issuer?.pointer ?? x, x, nil, nid, value))
        defer { X509_EXTENSION_free(ext) }
        #expect(X509_add_ext(x, ext, -1) == 1)
        #expect(X509_sign(x, signer.pointer, EVP_sha256()) > 0)
        return copy
    }

    static func verifier(trust: [Certificate], host: String? = "www.example.test", at time: Int64 = now) throws -> ChainVerifier {
        ChainVerifier(trust: try TrustStore.certificates(trust, origin: "--trust roots.pem"), host: host, time: time)
    }

    static func verify(_ certs: [Certificate], trust: [Certificate], at time: Int64 = now) throws -> VerificationReport {
        try verifier(trust: trust, at: time).verify(fileCertificates: certs, source: "fullchain.pem")
    }

    /// What OpenSSL alone says: its one path, without certs' path building.
    static func openSSLAlone(_ certs: [Certificate], trust: [Certificate], at time: Int64 = now) throws -> Bool {
        let v = try verifier(trust: trust, at: time)
        return try v.buildPath(leaf: certs[0], untrusted: Array(certs.dropFirst())).issues.isEmpty
    }
}

@Suite struct PathBuildingTests {
    typealias P = PathPKI

    // MARK: Several candidate paths

    @Test func expiredCrossSignedIntermediateNextToAGoodOne() throws {
        let root = try P.ca("Root")
        let oldRoot = try P.ca("Old Root")
        let key = try PrivateKey.generate(.ecP256)
        let good = try P.ca("Issuing CA", key: key, issuer: root)
        // Same name and key, cross-signed by a root the client does not trust and which expired.
        let expiredRoot = try P.ca("Old Root", key: oldRoot.key, notBefore: P.now - 10 * P.year, notAfter: P.now - P.year)
        let cross = try P.ca("Issuing CA", key: key, issuer: expiredRoot)
        let leaf = try P.leaf(good)
        let r = try P.verify([leaf, cross.certificate, expiredRoot.certificate, good.certificate], trust: [root.certificate])
        #expect(r.valid, "\(r.errors)")
        #expect(r.chain.map(\.certificate) == [leaf, good.certificate, root.certificate])
        #expect(r.warnings.contains { $0.code == "superfluous-certificate" }, "\(r.warnings)")
        // The twin without the good intermediate has no valid path.
        let bad = try P.verify([leaf, cross.certificate, expiredRoot.certificate], trust: [root.certificate])
        #expect(!bad.valid)

        // An expired cross-sign issued by the trusted root itself, listed first.
        let expiredCross = try P.ca("Issuing CA", key: key, issuer: root, notBefore: P.now - 3 * P.year, notAfter: P.now - 86400)
        let r2 = try P.verify([leaf, expiredCross.certificate, good.certificate], trust: [root.certificate])
        #expect(r2.valid, "\(r2.errors)")
        let bad2 = try P.verify([leaf, expiredCross.certificate], trust: [root.certificate])
        #expect(bad2.errors.map(\.code) == ["expired"], "\(bad2.errors)")
    }

    @Test func nameConstrainedCrossSignNextToAnUnconstrainedOne() throws {
        let root = try P.ca("Root")
        let key = try PrivateKey.generate(.ecP256)
        let constrained = try P.ca("Issuing CA", key: key, issuer: root, nameConstraints: "critical,permitted;DNS:other.test")
        let free = try P.ca("Issuing CA", key: key, issuer: root)
        let leaf = try P.leaf(free)
        let certs = [leaf, constrained.certificate, free.certificate]
        #expect(try !P.openSSLAlone(certs, trust: [root.certificate]), "OpenSSL takes the first candidate and stops there")
        let r = try P.verify(certs, trust: [root.certificate])
        #expect(r.valid, "\(r.errors)")
        #expect(r.chain.map(\.certificate) == [leaf, free.certificate, root.certificate])
        let bad = try P.verify([leaf, constrained.certificate], trust: [root.certificate])
        #expect(bad.errors.map(\.code) == ["name-constraint-violation"], "\(bad.errors)")
    }

    @Test func trustAnchorInThePresentedChainInAnyPosition() throws {
        let root = try P.ca("Root")
        let issuing = try P.ca("Issuing CA", issuer: root)
        let leaf = try P.leaf(issuing)
        for certs in [[leaf, issuing.certificate, root.certificate], [leaf, root.certificate, issuing.certificate]] {
            let r = try P.verify(certs, trust: [root.certificate])
            #expect(r.valid, "\(r.errors)")
            #expect(r.warnings.contains { $0.code == "superfluous-certificate" && $0.message.contains("the root") }, "\(r.warnings)")
        }
        // The anchor next to the intermediate it issued, both in the trust bundle.
        #expect(try P.verify([leaf], trust: [root.certificate, issuing.certificate]).valid)
        // Twin: another root is trusted.
        let other = try P.ca("Root")
        #expect(try !P.verify([leaf, issuing.certificate, root.certificate], trust: [other.certificate]).valid)
    }

    @Test func trustedIntermediateIsAnAnchor() throws {
        let root = try P.ca("Root")
        let issuing = try P.ca("Issuing CA", issuer: root)
        let leaf = try P.leaf(issuing)
        #expect(try !P.openSSLAlone([leaf], trust: [issuing.certificate]), "OpenSSL needs X509_V_FLAG_PARTIAL_CHAIN")
        for certs in [[leaf], [leaf, issuing.certificate], [leaf, issuing.certificate, root.certificate]] {
            let r = try P.verify(certs, trust: [issuing.certificate])
            #expect(r.valid, "\(certs.count): \(r.errors)")
            #expect(r.chain.map(\.certificate).prefix(2) == [leaf, issuing.certificate])
            #expect(!r.warnings.contains { $0.code == "missing-intermediate" }, "the anchor is the client's: \(r.warnings)")
        }
        // Twin: an unrelated intermediate is trusted.
        let stranger = try P.ca("Issuing CA", issuer: try P.ca("Root"))
        let bad = try P.verify([leaf], trust: [stranger.certificate])
        #expect(!bad.valid)
        // The anchor's own expiry still counts.
        let expired = try P.ca("Issuing CA", key: issuing.key, issuer: root, notBefore: P.now - 2 * P.year, notAfter: P.now - 86400)
        #expect(try P.verify([leaf], trust: [expired.certificate]).errors.contains { $0.code == "expired" })
    }

    // MARK: RFC 5280 corrections

    @Test func certificateIsValidAtExactlyItsNotAfterSecond() throws {
        let root = try P.ca("Root")
        let issuing = try P.ca("Issuing CA", issuer: root)
        let leaf = try P.leaf(issuing)
        #expect(try !P.openSSLAlone([leaf, issuing.certificate], trust: [root.certificate], at: leaf.notAfter), "OpenSSL 3.0 calls it expired")
        let at = try P.verify([leaf, issuing.certificate], trust: [root.certificate], at: leaf.notAfter)
        #expect(at.valid, "RFC 5280 4.1.2.5: inclusive; \(at.errors)")
        let after = try P.verify([leaf, issuing.certificate], trust: [root.certificate], at: leaf.notAfter + 1)
        #expect(after.errors.map(\.code) == ["expired"])
        // notBefore is inclusive too (OpenSSL agrees).
        #expect(try P.verify([leaf, issuing.certificate], trust: [root.certificate], at: leaf.notBefore).valid)
        #expect(try P.verify([leaf, issuing.certificate], trust: [root.certificate], at: leaf.notBefore - 1).errors.map(\.code) == ["not-yet-valid"])
        // An intermediate at its last second.
        let short = try P.ca("Issuing CA", issuer: root, notAfter: P.now + 3600)
        let leaf2 = try P.leaf(short)
        #expect(try P.verify([leaf2, short.certificate], trust: [root.certificate], at: short.certificate.notAfter).valid)
        #expect(try !P.verify([leaf2, short.certificate], trust: [root.certificate], at: short.certificate.notAfter + 1).valid)
    }

    @Test func selfIssuedIntermediatesDoNotCountTowardsPathLength() throws {
        // RFC 5280 6.1.4 (l): root (pathlen 1) → key-rollover self-issued "Root" → issuing CA → leaf.
        let root = try P.ca("Root", key: try PrivateKey.generate(.ecP256), pathLength: 1)
        let rollover = try P.ca("Root", key: try PrivateKey.generate(.ecP256), issuer: root)
        #expect(rollover.certificate.isSelfIssued && !rollover.certificate.looksSelfSigned)
        let issuing = try P.ca("Issuing CA", issuer: rollover)
        let leaf = try P.leaf(issuing)
        let r = try P.verify([leaf, issuing.certificate, rollover.certificate], trust: [root.certificate])
        #expect(r.valid, "\(r.errors)")
        // Twin: two real intermediates below the rollover exceed pathlen 1.
        let upper = try P.ca("Upper CA", issuer: rollover)
        let lower = try P.ca("Lower CA", issuer: upper)
        let leaf2 = try P.leaf(lower)
        let bad = try P.verify([leaf2, lower.certificate, upper.certificate, rollover.certificate], trust: [root.certificate])
        #expect(bad.errors.map(\.code) == ["path-length"], "\(bad.errors)")
    }

    @Test func pathLengthIsNotAppliedToTheLeafAndALargerPathlenBelowIsBoundedByTheIssuer() throws {
        let root = try P.ca("Root")
        // pathlen 0 on the issuing CA: the leaf below is fine.
        let zero = try P.ca("Zero CA", issuer: root, pathLength: 0)
        #expect(try P.verify([try P.leaf(zero), zero.certificate], trust: [root.certificate]).valid)
        // Root → I1 (pathlen 1) → I2 (pathlen 5) → leaf: I2's larger value does not matter, the path is short enough.
        let i1 = try P.ca("I1", issuer: root, pathLength: 1)
        let i2 = try P.ca("I2", issuer: i1, pathLength: 5)
        let r = try P.verify([try P.leaf(i2), i2.certificate, i1.certificate], trust: [root.certificate])
        #expect(r.valid, "\(r.errors)")
        // Twins: I1 pathlen 0 with I2 below it; a pathlen-0 CA issuing another CA.
        let i1z = try P.ca("I1", issuer: root, pathLength: 0)
        let i2z = try P.ca("I2", issuer: i1z, pathLength: 5)
        #expect(try P.verify([try P.leaf(i2z), i2z.certificate, i1z.certificate], trust: [root.certificate]).errors.map(\.code) == ["path-length"])
        let sub = try P.ca("Sub CA", issuer: zero)
        #expect(try P.verify([try P.leaf(sub), sub.certificate, zero.certificate], trust: [root.certificate]).errors.map(\.code) == ["path-length"])
    }

    // MARK: Order

    @Test func outOfOrderChainIsValidWithAnOrderWarning() throws {
        let root = try P.ca("Root")
        let a = try P.ca("A", issuer: root)
        let a2 = try P.ca("A2", issuer: a)
        let leaf = try P.leaf(a2)
        // leaf, A, A2 where A2 is issued by A.
        let r = try P.verify([leaf, a.certificate, a2.certificate], trust: [root.certificate])
        #expect(r.valid, "\(r.errors)")
        let order = try #require(r.warnings.first { $0.code == "chain-order" }, "\(r.warnings)")
        #expect(order.message.contains("certs bundle"))
        let inOrder = try P.verify([leaf, a2.certificate, a.certificate], trust: [root.certificate])
        #expect(inOrder.valid && inOrder.warnings.isEmpty, "\(inOrder.codes)")
    }

    // MARK: Hostile bundles

    @Test func issuerCycleEnds() throws {
        let root = try P.ca("Root")
        let ka = try PrivateKey.generate(.ecP256), kb = try PrivateKey.generate(.ecP256)
        // A is issued by B and B by A; neither leads to the trusted root.
        let bSelf = try P.ca("Loop B", key: kb)
        let a = try P.ca("Loop A", key: ka, issuer: bSelf)
        let b = try P.ca("Loop B", key: kb, issuer: a)
        let leaf = try P.leaf(a)
        let start = Date()
        let r = try P.verify([leaf, a.certificate, b.certificate], trust: [root.certificate])
        #expect(!r.valid)
        #expect(r.errors.contains { $0.code == "unknown-issuer" || $0.code == "untrusted-root" }, "\(r.errors)")
        #expect(Date().timeIntervalSince(start) < 10)
        let result = try PathBuilder(trust: try TrustStore.certificates([root.certificate], origin: "x"), pool: [a.certificate, b.certificate], time: P.now)
            .paths(from: leaf)
        #expect(result.paths.isEmpty)
        // Twin: B trusted, the loop has an anchor.
        #expect(try P.verify([leaf, a.certificate, b.certificate], trust: [bSelf.certificate]).valid)
    }

    @Test func thousandCrossSignedCandidatesFinishWithinTheBounds() throws {
        let root = try P.ca("Root")
        let key = try PrivateKey.generate(.ecP256)
        let leafIssuer = try P.ca("Cross CA", key: key, issuer: root)
        let leaf = try P.leaf(leafIssuer)
        // 1,000 certificates named like the leaf's issuer, for two keys, each signed by the other
        // key: every one is a candidate issuer of every other (1,000^8 paths without bounds).
        let other = try PrivateKey.generate(.ecP256)
        var crosses: [Certificate] = []
        let signers = [try P.ca("Cross CA", key: key), try P.ca("Cross CA", key: other)]
        for i in 0..<1000 {
            let own = i % 2 == 0 ? key : other
            let next = try P.ca("Cross CA", key: own, issuer: signers[i % 2 == 0 ? 1 : 0], notBefore: P.now - 2 * P.year,
                                notAfter: i % 3 == 0 ? P.now - 86400 : P.now + P.year)
            #expect(!next.certificate.looksSelfSigned)
            crosses.append(next.certificate)
        }
        var start = Date()
        #expect(try !P.openSSLAlone([leaf] + crosses, trust: [root.certificate]))
        start = Date()
        let bad = try P.verify([leaf] + crosses, trust: [root.certificate])
        #expect(!bad.valid)
        let result = try PathBuilder(trust: try TrustStore.certificates([root.certificate], origin: "x"), pool: crosses, time: P.now).paths(from: leaf)
        #expect(result.paths.count <= PathBuilder.maxPaths && result.signatureChecks <= PathBuilder.maxSignatureChecks)
        #expect(result.steps <= PathBuilder.maxSteps + PathBuilder.maxDepth + 1)
        // With the good intermediate last, the path through it is found.
        let good = try P.verify([leaf] + crosses + [leafIssuer.certificate], trust: [root.certificate])
        #expect(good.valid, "\(good.errors.prefix(3))")
        #expect(Date().timeIntervalSince(start) < 10, "bounded: \(Date().timeIntervalSince(start)) s")
    }
}
