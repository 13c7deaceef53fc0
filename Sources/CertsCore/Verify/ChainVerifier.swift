#if canImport(Glibc)
import Glibc
#endif

/// Verifies TLS server certificate chains: OpenSSL's path validation (`X509_verify_cert` with the
/// TLS server purpose, host or IP matching and a fixed validation time), then the Web PKI checks
/// OpenSSL leaves out (`ServerPolicies`), then the shape of the presented chain (order,
/// duplicates, extra certificates, intermediates the server should send).
///
/// Every problem becomes a `Finding`; nothing is thrown for an invalid chain. Errors are only for
/// "could not run" (OpenSSL allocation failures).
public struct ChainVerifier {
    public let trust: TrustStore
    /// DNS name or IP address the leaf must cover; nil skips name matching.
    public var host: String?
    /// Validation time, Unix seconds.
    public var time: Int64
    /// When set, the leaf's public key must be this key's.
    public var key: PrivateKey?
    /// The rule book: Web PKI (RFC 5280 + CA/B Forum, the default) or RFC 5280 alone.
    public var policy: VerificationPolicy = .webpki
    /// The error codes that mean "no trusted root was found" rather than "this chain is bad":
    /// commands that install or deploy without a trust store to judge against excuse them.
    public static let trustAnchorCodes: Set<String> = unanchoredCodes.union(["missing-intermediate"])
    /// The codes that say a candidate path ends at no anchor at all (path ranking prefers anchored
    /// paths; a missing intermediate still ends at a known issuer).
    static let unanchoredCodes: Set<String> = ["unknown-issuer", "untrusted-root", "self-signed"]
    /// Subject/issuer text of issuers, which repeat in every chain of a run.
    let names = NameCache()

    public init(trust: TrustStore, host: String? = nil, time: Int64, key: PrivateKey? = nil, policy: VerificationPolicy = .webpki) {
        self.trust = trust
        self.host = host.map(Self.normalizeHost)
        self.time = time
        self.key = key
        self.policy = policy
    }

    /// A certificate as the user presented it, with where it came from for messages.
    public struct Presented {
        public let certificate: Certificate
        /// "fullchain.pem", "--chain chain.pem", "the server".
        public let origin: String
        /// 1-based position within `origin`.
        public let position: Int

        public init(_ certificate: Certificate, origin: String, position: Int) {
            self.certificate = certificate
            self.origin = origin
            self.position = position
        }

        var label: String { "certificate \(position) of \(origin)" }
    }

    /// Verifies a file's certificates: the first is the leaf, the rest (then `extraChain`, e.g.
    /// from `--chain`) are the presented chain.
    public func verify(fileCertificates certificates: [Certificate], source: String,
                       extraChain: [Certificate] = [], extraOrigin: String = "--chain") throws -> VerificationReport {
        precondition(!certificates.isEmpty, "a file with no certificate is an input error")
        var presented: [Presented] = []
        for (i, c) in certificates.enumerated().dropFirst() { presented.append(Presented(c, origin: source, position: i + 1)) }
        for (i, c) in extraChain.enumerated() { presented.append(Presented(c, origin: extraOrigin, position: i + 1)) }
        return try evaluate(leaf: certificates[0], presented: presented, source: source, served: nil)
    }

    /// Verifies what a server sent. `hints` (from `--chain`/`--trust`) are used only to explain an
    /// omitted intermediate; `expected` is the certificate the server should be serving.
    public func verify(served: ServedChain, hints: [Certificate] = [], hintOrigin: String = "--chain",
                       expected: Certificate? = nil, expectedOrigin: String = "--expect-cert") throws -> VerificationReport {
        let presented = served.certificates.enumerated().dropFirst().map {
            Presented($0.element, origin: "the served chain", position: $0.offset + 1)
        }
        let context = ServedContext(chain: served, hints: hints, hintOrigin: hintOrigin, expected: expected, expectedOrigin: expectedOrigin)
        return try evaluate(leaf: served.leaf, presented: presented, source: served.endpoint.description, served: context)
    }

    struct ServedContext {
        let chain: ServedChain
        let hints: [Certificate]
        let hintOrigin: String
        let expected: Certificate?
        let expectedOrigin: String
    }

    // MARK: The run

    func evaluate(leaf: Certificate, presented: [Presented], source: String, served: ServedContext?) throws -> VerificationReport {
        let shape = ChainShape(leaf: leaf, presented: presented, servedByServer: served != nil)
        let untrusted = shape.unique.map(\.certificate)
        // Fast path: the one path OpenSSL builds. Most chains end here.
        var best = judge(try buildPath(leaf: leaf, untrusted: untrusted), shape: shape, served: served)
        if best.errors > 0 {
            // Another path may exist (cross-signs, a trusted intermediate as anchor): try each
            // candidate with exactly its certificates, and keep the first valid one or the best failure.
            let candidates = try PathBuilder(trust: trust, pool: untrusted, time: time).paths(from: leaf)
            let fast = best.chain
            for path in candidates.paths where !(path == fast && path.last?.looksSelfSigned == true) {
                guard let anchor = path.last, let store = try? TrustStore.certificates([anchor], origin: trust.origin),
                      let result = try? buildPath(leaf: leaf, untrusted: Array(path.dropFirst().dropLast()), store: store,
                                                  partialChain: !anchor.looksSelfSigned) else { continue }
                let candidate = judge(result, shape: shape, served: served, anchor: anchor)
                if candidate.isBetter(than: best) { best = candidate }
                if best.errors == 0 { break }
            }
        }
        let chain = best.chain
        var findings = best.findings
        findings += shape.findings(chain: chain)
        if let served {
            findings = explainMissingIntermediate(findings, chain: chain, context: served)
            if let finding = unexpectedCertificate(served) { findings.append(finding) }
            if let finding = obsoleteProtocol(served.chain) { findings.append(finding) }
        }

        let presentedSet = [leaf] + shape.unique.map(\.certificate)
        let links = chain.enumerated().map { index, cert -> ChainLink in
            let role: ChainLink.Role = index == 0 ? .leaf : (index == chain.count - 1 && cert.looksSelfSigned ? .root : .intermediate)
            let text: (subject: String, issuer: String) = index == 0 ? (cert.subject.description, cert.issuer.description) : names.text(cert)
            return ChainLink(subject: text.subject, issuer: text.issuer,
                             notBefore: cert.notBefore, notAfter: cert.notAfter,
                             role: role, presented: presentedSet.contains(cert), certificate: cert)
        }
        let unique = Self.deduplicated(findings)
        return VerificationReport(source: source, host: host, at: time, chain: links,
                                  errors: unique.filter { $0.severity == .error },
                                  warnings: unique.filter { $0.severity == .warning },
                                  connection: served.map { ConnectionSummary($0.chain) })
    }

    /// One built path and what is wrong with it (OpenSSL's errors after the RFC 5280 corrections,
    /// the policies, intermediates the presented chain lacks).
    struct Candidate {
        let chain: [Certificate]
        let findings: [Finding]
        let errors: Int
        /// It reaches a trust anchor (its errors are about the path, not about finding one).
        let anchored: Bool

        /// Fewer errors, then one that reaches an anchor, then the deeper path.
        func isBetter(than other: Candidate) -> Bool {
            if errors != other.errors { return errors < other.errors }
            if anchored != other.anchored { return anchored }
            return chain.count > other.chain.count
        }
    }

    func judge(_ path: PathResult, shape: ChainShape, served: ServedContext?, anchor: Certificate? = nil) -> Candidate {
        let leaf = shape.leaf
        let chain = path.chain.isEmpty ? [leaf] : path.chain
        var findings = pathFindings(corrected(path.issues, chain: chain), chain: chain)
        let policy = ServerPolicies.evaluate(PolicyContext(leaf: leaf, chain: chain, time: time, key: key, policy: self.policy, systemTrust: trust.isSystem))
        // OpenSSL's purpose error on the leaf says less than the policies that explain it.
        if policy.contains(where: { ["wrong-purpose", "key-usage"].contains($0.code) && $0.severity == .error }) {
            findings.removeAll { $0.code == "wrong-purpose" && $0.subjectKey == leaf.fingerprint() }
        }
        findings += intermediatesFromTrustStore(chain: chain, shape: shape, served: served != nil, anchor: anchor)
        findings += policy
        let unanchored = findings.contains { ChainVerifier.unanchoredCodes.contains($0.code) }
        return Candidate(chain: chain, findings: findings, errors: findings.filter { $0.severity == .error }.count, anchored: !unanchored)
    }

    /// RFC 5280 where OpenSSL 3.0 differs: a certificate is valid through its notAfter second
    /// inclusive (§4.1.2.5); OpenSSL calls it expired at that second.
    func corrected(_ issues: [RawIssue], chain: [Certificate]) -> [RawIssue] {
        issues.filter { issue in
            guard issue.kind == .expired else { return true }
            let cert = issue.certificate ?? (issue.depth < chain.count ? chain[issue.depth] : nil)
            return cert.map { $0.notAfter != time } ?? true
        }
    }

    /// One finding per problem and certificate; a warning never hides an error with the same code.
    static func deduplicated(_ findings: [Finding]) -> [Finding] {
        var out: [Finding] = []
        for f in findings where !out.contains(where: { $0.code == f.code && $0.severity == f.severity && $0.subjectKey == f.subjectKey && ($0.subjectKey != nil || $0.message == f.message) }) {
            out.append(f)
        }
        return out
    }

    static func normalizeHost(_ raw: String) -> String {
        var h = raw.trimmingSpaces.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if let ip = IPAddress.normalize(h) { return ip }
        if h.hasSuffix(".") { h.removeLast() }
        return h
    }

    /// OpenSSL's verification errors in words.
    func pathFindings(_ issues: [RawIssue], chain: [Certificate]) -> [Finding] {
        var out: [Finding] = []
        // Leaf first: OpenSSL reports from the top of the chain down.
        for issue in issues.enumerated().sorted(by: { ($0.element.depth, $0.offset) < ($1.element.depth, $1.offset) }).map(\.element) {
            let cert = issue.certificate ?? (issue.depth < chain.count ? chain[issue.depth] : chain[0])
            let index = chain.firstIndex(of: cert) ?? issue.depth
            let what = Describe.role(index: index, of: chain)
            let q = Describe.quoted(cert)
            switch issue.kind {
            case .expired:
                let days = -daysBetween(time, cert.notAfter)  // the same count as inspect's and check's days left
                out.append(Finding("expired", "\(what) \(q) expired at \(RFC3339.format(cert.notAfter)) (\(Self.days(days)) before \(RFC3339.format(time)))", about: cert))
            case .notYetValid:
                let days = daysBetween(time, cert.notBefore)
                out.append(Finding("not-yet-valid", "\(what) \(q) is not valid until \(RFC3339.format(cert.notBefore)) (\(Self.days(days)) after \(RFC3339.format(time)))", about: cert))
            case .invalidValidity:
                out.append(Finding("invalid-validity", "\(what) \(q) has a malformed validity date", about: cert))
            case .nameMismatch:
                out.append(hostnameMismatch(chain[0]))
            case .unknownIssuer:
                out.append(unknownIssuer(cert, what: what))
            case .selfSignedLeaf:
                out.append(Finding("self-signed", "the leaf \(q) is self-signed and not in \(trust.origin); clients will not trust it (use a certificate from a CA, or trust this exact certificate with --trust)", about: cert))
            case .untrustedRoot:
                out.append(Finding("untrusted-root", "the chain ends at the root \(q), which is not in \(trust.origin)", about: cert))
            case .invalidPurpose:
                if index == 0 {
                    out.append(Finding("wrong-purpose", "the leaf \(q) is not valid for TLS server authentication (its keyUsage or extendedKeyUsage forbid it)", about: cert))
                } else {
                    let eku = cert.extendedKeyUsage.map { " (extendedKeyUsage: \($0.joined(separator: ", ")))" } ?? ""
                    out.append(Finding("wrong-purpose", "\(what) \(q) may not issue TLS server certificates\(eku)", about: cert))
                }
            case .invalidCA:
                out.append(Finding("invalid-ca", "\(q) is used as an issuer but is not a CA (it needs basicConstraints CA:TRUE and keyCertSign)", about: cert))
            case .pathLength:
                out.append(Finding("path-length", "\(what) \(q) is below more intermediates than its issuer's pathLenConstraint allows", about: cert))
            case .badSignature:
                out.append(Finding("bad-signature", "\(what) \(q)'s signature does not verify with its issuer's key (wrong or corrupted certificate)", about: cert))
            case .nameConstraints:
                let text = issue.text
                out.append(Finding("name-constraint-violation", "\(what) \(q) is outside the name constraints of an issuer above it (\(text))", about: cert))
            case .revoked:
                out.append(Finding("revoked", "\(what) \(q) is revoked", about: cert))
            case .rejected:
                out.append(Finding("untrusted-root", "\(what) \(q) is marked as not trusted for TLS servers in \(trust.origin)", about: cert))
            case .other:
                let text = issue.text
                out.append(Finding("verify-failed", "\(what) \(q): \(text)", about: cert))
            }
        }
        return out
    }

    static func days(_ n: Int) -> String { n == 1 ? "1 day" : "\(n) days" }

    func hostnameMismatch(_ leaf: Certificate) -> Finding {
        let host = self.host ?? ""
        let names = leaf.subjectAlternativeNames.filter {
            if case .dns = $0 { return true }
            if case .ip = $0 { return true }
            return false
        }
        let kind = IPAddress.parse(host) != nil ? "IP address" : "host name"
        if names.isEmpty {
            let cn = leaf.subject.commonName.map { ": \"\($0)\" is only in the subject CN, which clients ignore" } ?? ""
            return Finding("hostname-mismatch", "the \(kind) \(host) is not in the leaf's subjectAltNames (it has none\(cn))", about: leaf)
        }
        return Finding("hostname-mismatch", "the \(kind) \(host) is not in the leaf's subjectAltNames (\(names.map(\.description).joined(separator: ", ")))", about: leaf)
    }

    func unknownIssuer(_ cert: Certificate, what: String) -> Finding {
        let urls = cert.authorityInfoAccess.caIssuers
        let hint = urls.isEmpty ? "" : "; the certificate says its issuer can be downloaded from \(urls.joined(separator: ", "))"
        return Finding("unknown-issuer", "cannot find the issuer \(Describe.name(cert.issuer)) of \(what) \(Describe.quoted(cert)): it is neither in the chain nor in \(trust.origin)\(hint)", about: cert)
    }

    // MARK: Omitted intermediates

    /// Intermediates OpenSSL took from the trust store because the chain lacked them: a client
    /// with only the root would fail. An error for a served chain, a warning for a file.
    /// A trusted intermediate that ends the path (`anchor`) is the client's to have, not the server's.
    func intermediatesFromTrustStore(chain: [Certificate], shape: ChainShape, served: Bool, anchor: Certificate? = nil) -> [Finding] {
        var out: [Finding] = []
        let presented = [shape.leaf] + shape.unique.map(\.certificate)
        for cert in chain.dropFirst() where !presented.contains(cert) && !cert.looksSelfSigned && cert != anchor {
            let message = served
                ? "the server does not send the intermediate \(Describe.quoted(cert)); it verified only because \(trust.origin) holds it, and clients with only the root will fail: serve the full chain (fullchain.pem)"
                : "the intermediate \(Describe.quoted(cert)) is not in the presented chain; it was found in \(trust.origin), but clients only get what the server sends: add it after the leaf"
            out.append(Finding("missing-intermediate", message, severity: served ? .error : .warning, about: cert))
        }
        return out
    }

    /// On a served chain, an unknown issuer that `--chain`/`--trust` (or the leaf's AIA URL) can
    /// supply is the classic misconfiguration: the server sends cert.pem instead of fullchain.pem.
    func explainMissingIntermediate(_ findings: [Finding], chain: [Certificate], context: ServedContext) -> [Finding] {
        findings.map { finding in
            guard finding.code == "unknown-issuer", let top = chain.first(where: { $0.fingerprint() == finding.subjectKey }) else { return finding }
            let candidates = context.hints.map { ($0, context.hintOrigin) } + trust.certificates.map { ($0, trust.origin) }
            if let (issuer, origin) = candidates.first(where: { !$0.0.looksSelfSigned && top.isIssued(by: $0.0) }) {
                return Finding("missing-intermediate", "the server does not send the intermediate \(Describe.quoted(issuer)) that issued \(Describe.quoted(top)) (it is in \(origin)); clients cannot build the chain without it: serve the full chain (fullchain.pem, not cert.pem)", about: top)
            }
            let urls = top.authorityInfoAccess.caIssuers
            if top == chain[0], !top.isSelfIssued, !urls.isEmpty {
                return Finding("missing-intermediate", "the server does not send the issuer \(Describe.name(top.issuer)) of the leaf; browsers may fetch it from \(urls.joined(separator: ", ")), but most other clients fail: serve the full chain", about: top)
            }
            if top == chain[0], !top.isSelfIssued {
                return Finding("unknown-issuer", finding.message + "; the server sent no certificate that issued the leaf: if its issuer is an intermediate, serve the full chain (pass the intermediate with --chain to confirm)", about: top)
            }
            return finding
        }
    }

    // MARK: Protocol

    /// The client offers TLS 1.0 to 1.3 and the server picks its best: TLS 1.0 or 1.1 (or SSL 3)
    /// means it speaks nothing newer, and browsers and current libraries refuse it (RFC 8996).
    func obsoleteProtocol(_ served: ServedChain) -> Finding? {
        let names = ["SSLv3": "SSL 3.0", "TLSv1": "TLS 1.0", "TLSv1.1": "TLS 1.1"]
        guard let name = names[served.protocolVersion] else { return nil }
        return Finding("obsolete-protocol", "the server speaks at best \(name); browsers and current TLS libraries refuse TLS 1.0 and 1.1 (RFC 8996), so no current client can connect: enable TLS 1.2 and 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;)")
    }

    // MARK: --expect-cert

    func unexpectedCertificate(_ context: ServedContext) -> Finding? {
        guard let expected = context.expected else { return nil }
        let served = context.chain.leaf
        guard served != expected else { return nil }
        func describe(_ c: Certificate) -> String {
            "\(Describe.quoted(c)), SHA-256 \(c.fingerprint().hexString.prefix(16))…, not after \(RFC3339.format(c.notAfter))"
        }
        let verdict: String
        if served.notAfter < expected.notAfter {
            verdict = "the served one is older: reload or restart the server so it picks up the new certificate"
        } else if served.notAfter > expected.notAfter {
            verdict = "the served one is newer: \(context.expectedOrigin) is out of date"
        } else {
            verdict = "both expire at the same time: they are different certificates for the same period"
        }
        return Finding("unexpected-certificate", "the server serves \(describe(served)) but \(context.expectedOrigin) holds \(describe(expected)); \(verdict)", about: served)
    }
}

/// The shape of a presented chain: duplicates, order and certificates that do not belong.
struct ChainShape {
    let leaf: Certificate
    /// The presented chain without repeats, in order.
    let unique: [ChainVerifier.Presented]
    let duplicates: [(copy: ChainVerifier.Presented, first: String)]
    /// The presented certificates that chain up from the leaf, in issuing order.
    let path: [ChainVerifier.Presented]
    let servedByServer: Bool

    init(leaf: Certificate, presented: [ChainVerifier.Presented], servedByServer: Bool) {
        self.leaf = leaf
        self.servedByServer = servedByServer
        var unique: [ChainVerifier.Presented] = []
        var duplicates: [(ChainVerifier.Presented, String)] = []
        for p in presented {
            if p.certificate == leaf {
                duplicates.append((p, "the leaf"))
            } else if let first = unique.first(where: { $0.certificate == p.certificate }) {
                // The same certificate in the LEAF file and in --chain is just overlap, not a defect.
                if first.origin == p.origin { duplicates.append((p, first.label)) }
            } else {
                unique.append(p)
            }
        }
        self.unique = unique
        self.duplicates = duplicates

        var path: [ChainVerifier.Presented] = []
        var current = leaf
        var remaining = unique
        while !current.isSelfIssued, let i = remaining.firstIndex(where: { current.isIssued(by: $0.certificate) }) {
            let next = remaining.remove(at: i)
            path.append(next)
            current = next.certificate
        }
        self.path = path
    }

    /// Judged against `chain`, the path verification chose (leaf first): its presented
    /// certificates must come in issuing order; the others do not belong. Without a chain above
    /// the leaf, the presented certificates that chain up by name are the path.
    func findings(chain: [Certificate]) -> [Finding] {
        var out: [Finding] = []
        for (copy, first) in duplicates {
            out.append(.warning("duplicate-certificate", "\(Describe.quoted(copy.certificate)) appears again as \(copy.label) (it is already \(first)); remove the copy", about: copy.certificate))
        }
        let fromChain = chain.dropFirst().compactMap { c in unique.first { $0.certificate == c } }
        let path = chain.count > 1 ? fromChain : self.path
        // Order: each certificate should be followed by its issuer (RFC 8446 4.4.2 says clients
        // SHOULD tolerate any order, so this is a warning; RFC 5246 7.4.2 and old clients want it).
        let positions = path.map { p in unique.firstIndex { $0.certificate == p.certificate }! }
        if positions != positions.sorted() {
            let expected = (["leaf"] + path.map { Describe.quoted($0.certificate) }).joined(separator: " → ")
            let pathSet = path.map(\.certificate)
            let found = (["leaf"] + unique.filter { pathSet.contains($0.certificate) }.map { Describe.quoted($0.certificate) }).joined(separator: ", ")
            out.append(.warning("chain-order", "the chain is out of order: each certificate should be followed by the one that issued it; expected \(expected), found \(found); clients tolerate it, old ones may not: rebuild it with certs bundle", about: leaf))
        }
        for p in unique where !path.contains(where: { $0.certificate == p.certificate }) {
            out.append(.warning("superfluous-certificate", "\(Describe.quoted(p.certificate)) (\(p.label)) is not part of the leaf's chain (it did not issue the leaf or any of its issuers); remove it", about: p.certificate))
        }
        if let last = path.last, last.certificate.looksSelfSigned {
            let sender = servedByServer ? "the server sends" : "the chain includes"
            out.append(.warning("superfluous-certificate", "\(sender) the root \(Describe.quoted(last.certificate)) (\(last.label)); clients must already trust it, so sending it only adds bytes to every handshake", about: last.certificate))
        }
        return out
    }
}

/// Caches the RFC 4514 text of issuer certificates' names for the life of a verifier. Entries hold
/// their certificate, so an `X509 *` address is never reused while it is a key.
/// Shared by the worker threads of `verifyAll`, so every access holds the lock.
final class NameCache: @unchecked Sendable {
    private let entries = Locked<[Certificate.Identity: (certificate: Certificate, subject: String, issuer: String)]>([:])

    func text(_ cert: Certificate) -> (subject: String, issuer: String) {
        if let cached = entries.withValue({ $0[cert.identity] }) { return (cached.subject, cached.issuer) }
        let e = (certificate: cert, subject: cert.subject.description, issuer: cert.issuer.description)
        entries.withValue { if $0.count < 10_000 { $0[cert.identity] = e } }
        return (e.subject, e.issuer)
    }
}
