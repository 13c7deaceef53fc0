/// Builds the chain a server should send from a pile of certificates in any order — what a CA's
/// email attachments, a `.p7b`, a `.pfx` and an old `ca-bundle.crt` add up to — with duplicates,
/// extras and the root mixed in.
///
/// Pure logic over `[Certificate]`: no files, no clock (time is a parameter), no printing.
///
/// The result is leaf → intermediates in issuing order. A self-signed root found in the pile (or
/// among `anchors`) is reported separately as `root` and is not part of `fullchain`: clients have
/// their own copy, and sending it only costs bytes.
public enum ChainAssembler {
    /// Assembles the chain.
    ///
    /// - Parameters:
    ///   - certificates: the pile, in any order, duplicates allowed.
    ///   - key: when given, the leaf is the certificate for this public key (the CSR's key), which
    ///     settles which one is the leaf when the pile holds several end-entity certificates. When
    ///     no certificate matches it, the leaf is chosen as without a key; the caller compares.
    ///   - anchors: trusted roots (e.g. `--trust`). When given, the chain is complete only if it
    ///     reaches a self-signed certificate or a certificate issued by one of them.
    ///   - now: when given, issuers valid at this time are preferred over expired ones.
    public static func assemble(_ certificates: [Certificate], key: PublicKey? = nil,
                                anchors: [Certificate] = [], now: Int64? = nil) throws -> AssembledChain {
        guard !certificates.isEmpty else { throw ChainError.noCertificates }

        // 1. Duplicates (same DER) go first: the first occurrence stays.
        var pool: [Certificate] = []
        var dropped: [DroppedCertificate] = []
        for cert in certificates {
            if pool.contains(where: { $0 == cert }) {
                if !dropped.contains(where: { $0.reason == .duplicate && $0.certificate == cert }) {
                    dropped.append(DroppedCertificate(certificate: cert, reason: .duplicate))
                }
            } else {
                pool.append(cert)
            }
        }

        // 2. The leaf.
        let leafIndex = try chooseLeaf(pool, key: key)
        let leaf = pool[leafIndex]
        var used: Set<Int> = [leafIndex]

        // 3. Walk up, issuer by issuer.
        var intermediates: [Certificate] = []
        var root: Certificate? = nil
        var rootSource: AssembledChain.RootSource? = nil
        var missing: MissingIssuer? = nil
        var current = leaf
        while true {
            if current.isSelfSigned {
                if current !== leaf {
                    root = current
                    rootSource = .input
                }
                break
            }
            let candidates = pool.indices.filter { !used.contains($0) && current.isSignedBy(pool[$0]) }
            if let next = preferredIssuer(candidates.map { pool[$0] }, now: now).map({ candidates[$0] }) {
                used.insert(next)
                let issuer = pool[next]
                if issuer.isSelfSigned {
                    root = issuer
                    rootSource = .input
                    break
                }
                intermediates.append(issuer)
                current = issuer
                continue
            }
            let anchorCandidates = anchors.filter { current.isSignedBy($0) }
            if let best = preferredIssuer(anchorCandidates, now: now) {
                root = anchorCandidates[best]
                rootSource = .anchor
                break
            }
            // No issuer in the pile. With trusted roots given, that is a gap; without, an
            // intermediate at the top is taken to be issued by a root the clients already have
            // (roots are not sent), but a leaf with nothing above it is certainly missing its issuer.
            if !anchors.isEmpty || current === leaf {
                let aia = current.authorityInfoAccess.caIssuers
                missing = MissingIssuer(issuer: current.issuer, caIssuersURL: aia.first, below: current, searchedAnchors: !anchors.isEmpty)
            }
            break
        }

        // 4. Everything not used is dropped, saying why.
        for i in pool.indices where !used.contains(i) {
            let cert = pool[i]
            let reason: DroppedCertificate.Reason
            let chainMembers = [leaf] + intermediates
            if chainMembers.contains(where: { $0.isSignedBy(cert) }) {
                reason = .alternativeIssuer
            } else if !cert.isCA && !cert.isSelfSigned {
                reason = .otherLeaf
            } else {
                reason = .unrelated
            }
            dropped.append(DroppedCertificate(certificate: cert, reason: reason))
        }

        return AssembledChain(leaf: leaf, intermediates: intermediates, root: root, rootSource: rootSource,
                              dropped: dropped, missingIssuer: missing)
    }

    /// The index of the leaf in a duplicate-free pool.
    static func chooseLeaf(_ pool: [Certificate], key: PublicKey?) throws -> Int {
        if let key {
            let matching = pool.indices.filter { pool[$0].publicKey == key }
            if !matching.isEmpty {
                // The same key may be in a renewed certificate too: take an end-entity one, the newest.
                let endEntity = matching.filter { !pool[$0].isCA }
                let pick = endEntity.isEmpty ? matching : endEntity
                return pick.max { pool[$0].notAfter < pool[$1].notAfter }!
            }
        }
        if pool.count == 1 { return 0 }
        // End-entity certificates: not CA, not a self-signed root without basicConstraints.
        var candidates = pool.indices.filter { !pool[$0].isCA && !pool[$0].isSelfSigned }
        if candidates.isEmpty {
            // Only CA certificates: the one that issued none of the others is the bottom.
            candidates = pool.indices.filter { i in !pool.indices.contains { j in j != i && pool[j].isSignedBy(pool[i]) } }
        }
        if candidates.count == 1 { return candidates[0] }
        if candidates.isEmpty { throw ChainError.noLeaf }
        throw ChainError.ambiguousLeaf(subjects: candidates.map { pool[$0].subject.description })
    }

    /// Picks among several certificates that could each have issued the one below: valid ones
    /// first, then self-signed (the shortest path, to a root), then the one that lasts longest.
    static func preferredIssuer(_ candidates: [Certificate], now: Int64?) -> Int? {
        guard !candidates.isEmpty else { return nil }
        func score(_ c: Certificate) -> (Int, Int, Int64) {
            let valid = now.map { c.notBefore <= $0 && $0 <= c.notAfter } ?? true
            return (valid ? 1 : 0, c.isSelfSigned ? 1 : 0, c.notAfter)
        }
        var best = 0
        for i in candidates.indices.dropFirst() where score(candidates[i]) > score(candidates[best]) { best = i }
        return best
    }
}

/// A leaf with its intermediates, as a server should send them, and what was left out.
public struct AssembledChain: @unchecked Sendable {
    public enum RootSource: String, Sendable {
        /// The root was in the input.
        case input
        /// The root is one of the trusted roots passed as anchors.
        case anchor
    }

    public let leaf: Certificate
    /// Issuing order: `intermediates[0]` issued the leaf, each next one issued the previous.
    public let intermediates: [Certificate]
    /// The self-signed root the chain ends in, when the input or the anchors hold it.
    public let root: Certificate?
    public let rootSource: RootSource?
    /// Certificates of the input that are not in the chain, with the reason.
    public let dropped: [DroppedCertificate]
    /// The first link that is missing, nil when the chain is complete.
    public let missingIssuer: MissingIssuer?

    public var isComplete: Bool { missingIssuer == nil }

    /// Leaf followed by intermediates: what goes into `fullchain.pem`.
    public var fullchain: [Certificate] { [leaf] + intermediates }

    /// The topmost certificate that a server sends.
    public var top: Certificate { intermediates.last ?? leaf }

    /// True when the chain reaches one of `roots`: its top is one of them or issued by one.
    /// Issuance is checked by name, key identifier and signature (`X509_check_issued` + `X509_verify`).
    public func isAnchored(in roots: [Certificate]) -> Bool {
        roots.contains { r in fullchain.contains { $0 == r } || top.isSignedBy(r) }
    }
}

public struct DroppedCertificate: @unchecked Sendable {
    public enum Reason: String, Sendable {
        /// The same certificate appeared earlier in the input.
        case duplicate
        /// Not the leaf's issuer nor any of its issuers' (another CA's certificate).
        case unrelated
        /// Another end-entity certificate (not the leaf).
        case otherLeaf = "other-leaf"
        /// Could also have issued a certificate in the chain (e.g. a cross-signed twin); another was chosen.
        case alternativeIssuer = "alternative-issuer"

        public var text: String {
            switch self {
            case .duplicate: return "duplicate"
            case .unrelated: return "not part of this chain"
            case .otherLeaf: return "another end-entity certificate"
            case .alternativeIssuer: return "alternative issuer, not needed"
            }
        }
    }

    public let certificate: Certificate
    public let reason: Reason
}

/// The issuer that was not found for the topmost certificate of the chain.
public struct MissingIssuer: @unchecked Sendable, Equatable {
    /// The issuer name of `below`.
    public let issuer: DistinguishedName
    /// Where `below` says its issuer's certificate can be downloaded (AIA caIssuers), if it says.
    public let caIssuersURL: String?
    /// The topmost certificate we have.
    public let below: Certificate
    /// Trusted roots were searched too (and did not hold the issuer).
    public let searchedAnchors: Bool

    public init(issuer: DistinguishedName, caIssuersURL: String?, below: Certificate, searchedAnchors: Bool = false) {
        self.issuer = issuer
        self.caIssuersURL = caIssuersURL
        self.below = below
        self.searchedAnchors = searchedAnchors
    }

    public static func == (a: MissingIssuer, b: MissingIssuer) -> Bool {
        a.issuer == b.issuer && a.caIssuersURL == b.caIssuersURL && a.below == b.below
    }

    /// "the issuer \"CN=…\" of \"CN=…\" is missing (download it from http://…)"
    public var description: String {
        var text = "missing intermediate certificate: \"\(issuer)\" (the issuer of \"\(below.subject)\") is not in the input"
        if searchedAnchors { text += " nor among the trusted roots" }
        if let caIssuersURL { text += "; its certificate is at \(caIssuersURL)" }
        return text
    }
}

public enum ChainError: CertsFailure, Equatable {
    case noCertificates
    case noLeaf
    case ambiguousLeaf(subjects: [String])

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .noCertificates: return "no certificates in the input"
        case .noLeaf: return "cannot tell which certificate is the leaf (every one issued another); the private key would tell"
        case .ambiguousLeaf(let s):
            return "\(s.count) end-entity certificates (\(s.map { "\"\($0)\"" }.joined(separator: ", "))): the matching private key would choose"
        }
    }
}
