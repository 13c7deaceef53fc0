
/// Enumerates the candidate certification paths from a leaf to a trust anchor, for when the one
/// path OpenSSL builds fails although another exists (a cross-signed intermediate that expired or
/// is name-constrained next to a good one, a trusted intermediate used as the anchor).
///
/// Depth-first from the leaf over the issuers found among the presented certificates and in the
/// trust store. An edge child → issuer needs the issuer's subject to be the child's issuer name,
/// matching key identifiers when both are present, and the child's signature to verify with the
/// issuer's key (`X509_verify`). A path ends at the first trusted certificate (OpenSSL's
/// `X509_V_FLAG_PARTIAL_CHAIN` semantics, so a trusted intermediate is an anchor).
///
/// Bounded so a hostile bundle cannot make it slow: at most `maxPaths` paths, `maxDepth`
/// certificates above the leaf, `maxSignatureChecks` signature verifications (memoized per pair)
/// and `maxSteps` candidate edges examined. Certificates already on the path are skipped, so a
/// cycle (A issued B issued A) ends.
struct PathBuilder {
    static let maxPaths = 64
    static let maxDepth = 8
    static let maxSignatureChecks = 256
    static let maxSteps = 20_000

    let trust: TrustStore
    /// The presented certificates other than the leaf, without repeats.
    let pool: [Certificate]
    /// The validation time: currently valid issuers are tried first, so a good path is found early.
    let time: Int64

    /// What one run found; `exhausted` says a bound stopped the search.
    struct Result {
        var paths: [[Certificate]] = []
        var signatureChecks = 0
        var steps = 0
        var exhausted = false
    }

    func paths(from leaf: Certificate) throws -> Result {
        let lookup = try TrustLookup(trust: trust, leaf: leaf)
        // Presented issuers by subject: one dictionary look-up per step, however big the bundle.
        // An untrusted self-signed certificate ends no path (a cross-sign of it, which has the
        // same name and key, can), so it is left out.
        var bySubject: [String: [Certificate]] = [:]
        for c in pool where !c.looksSelfSigned { bySubject[c.subject.description, default: []].append(c) }
        var search = Search(builder: self, lookup: lookup, bySubject: bySubject)
        var path = [leaf]
        search.extend(&path)
        return search.result
    }

    /// The DFS state: memoized edges and the counters the bounds apply to.
    private struct Search {
        let builder: PathBuilder
        let lookup: TrustLookup
        let bySubject: [String: [Certificate]]
        var result = Result()
        /// Signature verdicts by child and issuer key: cross-signed certificates share their key,
        /// so a thousand of them cost one check. The child pointer stays alive for the search.
        var signatures: [PairKey: Bool] = [:]
        var keys: [Certificate.Identity: [UInt8]] = [:]
        var issuerKeys: [Certificate.Identity: String] = [:]

        struct PairKey: Hashable {
            let child: Certificate.Identity
            let issuerKey: [UInt8]
        }

        init(builder: PathBuilder, lookup: TrustLookup, bySubject: [String: [Certificate]]) {
            self.builder = builder
            self.lookup = lookup
            self.bySubject = bySubject
        }

        mutating func extend(_ path: inout [Certificate]) {
            guard let current = path.last else { return }
            if result.paths.count >= PathBuilder.maxPaths { result.exhausted = true; return }
            let trusted = trustedIssuers(of: current)
            let presented = (bySubject[issuerKey(current)] ?? []).filter { c in PathBuilder.namesIssuer(current, c) && !trusted.contains(c) }
            // Anchors first (shortest paths); then certificates a trusted one may have issued, then
            // currently valid ones, each in presented order: the good path of a big bundle comes early.
            let time = builder.time
            var ranks: [Int] = []
            func ordered(_ list: [Certificate], trusted: Bool) -> [Certificate] {
                ranks = list.map { c in (trusted || !trustedIssuers(of: c).isEmpty ? 0 : 2) + (c.notBefore <= time && time <= c.notAfter ? 0 : 1) }
                return list.indices.sorted { (ranks[$0], $0) < (ranks[$1], $1) }.map { list[$0] }
            }
            for (candidate, isAnchor) in ordered(trusted, trusted: true).map({ ($0, true) }) + ordered(presented, trusted: false).map({ ($0, false) }) {
                result.steps += 1
                if result.steps > PathBuilder.maxSteps || result.paths.count >= PathBuilder.maxPaths {
                    result.exhausted = true
                    return
                }
                if candidate == path[0] { continue }  // the leaf is never its own anchor here
                if path.contains(candidate) { continue }  // a cycle
                guard path.count <= PathBuilder.maxDepth else { continue }
                guard PathBuilder.keyIdentifiersAllow(current, candidate) else { continue }
                guard signed(current, by: candidate) else { continue }
                path.append(candidate)
                if isAnchor && endsPath(candidate) {
                    result.paths.append(path)
                } else {
                    extend(&path)
                }
                path.removeLast()
            }
        }

        /// The issuer name as text (the index key), once per certificate.
        mutating func issuerKey(_ cert: Certificate) -> String {
            if let known = issuerKeys[cert.identity] { return known }
            let key = cert.issuer.description
            issuerKeys[cert.identity] = key
            return key
        }

        mutating func trustedIssuers(of cert: Certificate) -> [Certificate] {
            let key = issuerKey(cert)
            return lookup.issuers(of: cert, key: key)
        }

        /// The DER SubjectPublicKeyInfo, once per certificate.
        mutating func publicKeyBytes(_ cert: Certificate) -> [UInt8] {
            if let known = keys[cert.identity] { return known }
            var bytes = cert.publicKeyInfoDER
            if bytes.isEmpty { bytes = cert.fingerprint() }  // no key: never equal to a real one
            keys[cert.identity] = bytes
            return bytes
        }

        /// A trusted certificate ends the path unless a trusted certificate issued it (a bundle of
        /// root and intermediate given as the trust: the path goes on to the root).
        mutating func endsPath(_ anchor: Certificate) -> Bool {
            if anchor.looksSelfSigned { return true }
            for issuer in trustedIssuers(of: anchor) where issuer != anchor && PathBuilder.keyIdentifiersAllow(anchor, issuer) {
                if signed(anchor, by: issuer) { return false }
            }
            return true
        }

        mutating func signed(_ child: Certificate, by issuer: Certificate) -> Bool {
            let key = PairKey(child: child.identity, issuerKey: publicKeyBytes(issuer))
            if let known = signatures[key] { return known }
            guard result.signatureChecks < PathBuilder.maxSignatureChecks else {
                result.exhausted = true
                return false
            }
            result.signatureChecks += 1
            let ok = child.signatureVerifies(with: issuer)
            signatures[key] = ok
            return ok
        }
    }

    /// The child's issuer name is the candidate's subject.
    static func namesIssuer(_ child: Certificate, _ candidate: Certificate) -> Bool {
        child.namesAsIssuer(candidate)
    }

    /// authorityKeyIdentifier of the child against the candidate's subjectKeyIdentifier, when both exist.
    static func keyIdentifiersAllow(_ child: Certificate, _ candidate: Certificate) -> Bool {
        child.keyIdentifiersAllow(issuer: candidate)
    }
}
