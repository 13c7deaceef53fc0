/// What the Web PKI requires of a TLS server certificate beyond what OpenSSL's path validation
/// checks. Each policy answers one question about the verified chain: it meets the policy, or it
/// fails with reasons (errors make the chain invalid; warnings are reported only).
///
/// The shape follows swift-certificates' `VerifierPolicy` (one small value per rule, each
/// returning meets / fails-with-reason); the code is ours and runs on OpenSSL's objects.
protocol ServerCertificatePolicy: Sendable {
    func evaluate(_ context: PolicyContext) -> PolicyVerdict
}

enum PolicyVerdict {
    case meets
    case fails([Finding])

    static func fails(_ finding: Finding) -> PolicyVerdict { .fails([finding]) }

    var findings: [Finding] {
        if case .fails(let f) = self { return f }
        return []
    }
}

/// The chain under judgement: the leaf, one candidate path (leaf first, as built), and the request.
struct PolicyContext {
    let leaf: Certificate
    let chain: [Certificate]
    let time: Int64
    let key: PrivateKey?
    /// Web PKI (RFC 5280 + CA/B Forum) or RFC 5280 alone.
    let policy: VerificationPolicy
    /// The path ends at a system root (`--system`): rules that are advice for a private anchor
    /// (lifetimes) become errors.
    let systemTrust: Bool

    init(leaf: Certificate, chain: [Certificate], time: Int64, key: PrivateKey?,
         policy: VerificationPolicy = .webpki, systemTrust: Bool = false) {
        self.leaf = leaf
        self.chain = chain
        self.time = time
        self.key = key
        self.policy = policy
        self.systemTrust = systemTrust
    }

    var webPKI: Bool { policy.isWebPKI }

    /// The leaf's subjectAltNames, decoded once for all the policies that read them.
    var leafNames: [GeneralName] { memo.leafNames(leaf) }
    private let memo = Memo()

    private final class Memo {
        private var names: [GeneralName]?
        func leafNames(_ leaf: Certificate) -> [GeneralName] {
            if let names { return names }
            let decoded = leaf.subjectAlternativeNames
            names = decoded
            return decoded
        }
    }

    /// The certificates whose own signature matters: all but a self-signed top (its signature is
    /// never relied on; the trust store vouches for the key itself).
    var signedCertificates: [Certificate] {
        guard let top = chain.last, chain.count > 1, top.looksSelfSigned else { return chain }
        return Array(chain.dropLast())
    }

    /// The self-signed trust anchor at the top of a path longer than the leaf, if any.
    var root: Certificate? {
        guard let top = chain.last, chain.count > 1, top.looksSelfSigned else { return nil }
        return top
    }

    /// Role words for the certificate at `index` ("the leaf", "the intermediate", "the root").
    func role(_ index: Int) -> String { Describe.role(index: index, of: chain) }
}

/// The policies `certs verify` applies, in reporting order.
enum ServerPolicies {
    static let all: [any ServerCertificatePolicy] = [
        SubjectAlternativeNamePolicy(),
        CommonNameInSANPolicy(),
        DNSNameSyntaxPolicy(),
        WildcardOverPublicSuffixPolicy(),
        SubjectAlternativeNameCriticalityPolicy(),
        LeafIsNotCAPolicy(),
        ServerAuthPolicy(),
        LeafExtendedKeyUsagePolicy(),
        KeyUsagePolicy(),
        LeafKeyCertSignPolicy(),
        ValidityPeriodPolicy(),
        KeyStrengthPolicy(),
        KeyAlgorithmPolicy(),
        SignatureAlgorithmPolicy(),
        SerialNumberPolicy(),
        KeyIdentifierPolicy(),
        RootProfilePolicy(),
        NameConstraintsPolicy(),
        AuthorityInfoAccessPolicy(),
        KeyPairPolicy(),
    ]

    static func evaluate(_ context: PolicyContext) -> [Finding] {
        all.flatMap { $0.evaluate(context).findings }
    }
}

/// Clients match names against subjectAltName only; a name only in the subject CN matches nothing.
struct SubjectAlternativeNamePolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        let names = c.leafNames.filter {
            if case .dns = $0 { return true }
            if case .ip = $0 { return true }
            return false
        }
        guard names.isEmpty else { return .meets }
        let cn = c.leaf.subject.commonName.map { " its name \"\($0)\" is only in the subject CN, which browsers and TLS libraries ignore;" } ?? ""
        return .fails(Finding("missing-san", "the leaf has no DNS or IP subjectAltName:\(cn) reissue it with the names as SANs", about: c.leaf))
    }
}

/// A server certificate must not be a CA (CA/Browser Forum BR 7.1.2.7.8; clients such as Go
/// reject it). Web PKI only: RFC 5280 lets a CA certificate be an end entity.
struct LeafIsNotCAPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard c.webPKI, c.leaf.isCA else { return .meets }
        return .fails(Finding("leaf-is-ca", "the leaf \(Describe.quoted(c.leaf)) is a CA certificate (basicConstraints CA:TRUE); a server certificate must have CA:FALSE", about: c.leaf))
    }
}

/// When extendedKeyUsage is present it must allow TLS server authentication.
struct ServerAuthPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard let eku = c.leaf.extendedKeyUsage, !eku.contains("serverAuth") else { return .meets }
        let listed = eku.isEmpty ? "empty" : eku.joined(separator: ", ")
        return .fails(Finding("wrong-purpose", "the leaf is not for TLS servers: its extendedKeyUsage (\(listed)) lacks serverAuth", about: c.leaf))
    }
}

/// keyUsage must fit the key: RSA needs digitalSignature (ECDHE) or keyEncipherment (RSA key
/// exchange); EC and EdDSA keys sign (digitalSignature) and cannot encrypt (keyEncipherment).
struct KeyUsagePolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard let usage = c.leaf.keyUsage else { return .meets }
        let algorithm = c.leaf.keyFamily
        let listed = usage.isEmpty ? "none" : usage.joined(separator: ", ")
        var findings: [Finding] = []
        switch algorithm {
        case .rsa:
            if !usage.contains("digitalSignature") && !usage.contains("keyEncipherment") {
                findings.append(Finding("key-usage", "the leaf's keyUsage (\(listed)) has neither digitalSignature nor keyEncipherment, so its RSA key cannot be used for TLS", about: c.leaf))
            }
        case .ec, .ed25519, .ed448:
            if usage.contains("keyEncipherment") || usage.contains("dataEncipherment") {
                let bit = usage.contains("keyEncipherment") ? "keyEncipherment" : "dataEncipherment"
                // A warning, not an error: TLS clients ignore the bit, and CAs still issue it
                // (Pebble does; the CA/B Forum forbade it for ECDSA only in 2023).
                findings.append(.warning("key-usage", "the leaf's keyUsage (\(listed)) includes \(bit), which an \(algorithm.family) key cannot do (only RSA keys encrypt); clients ignore it, but ask the CA for digitalSignature only", about: c.leaf))
            }
            if !usage.contains("digitalSignature") {
                findings.append(Finding("key-usage", "the leaf's keyUsage (\(listed)) lacks digitalSignature, which an \(algorithm.family) key needs to sign the TLS handshake", about: c.leaf))
            }
        case .other:
            break
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// notBefore must precede notAfter, and a server certificate may last at most as long as the
/// CA/B Forum allows for its issuance date (BR 6.3.2, ballot SC-081v3): 398 days, 200 days when
/// issued (notBefore) from 2026-03-15, 100 from 2027-03-15, 47 from 2029-03-15.
///
/// An error under the system roots (browsers reject longer certificates), a warning under a
/// private anchor (`--trust`, the local CA), where nothing enforces it. The length is
/// notAfter - notBefore, as Chrome computes it (BR 6.3.2 adds the final second: a certificate
/// exactly at the limit passes here and is one second over by the BR's count).
struct ValidityPeriodPolicy: ServerCertificatePolicy {
    /// (first notBefore, maximum days), latest first.
    static let schedule: [(from: Int64, days: Int64)] = [
        (RFC3339.daysFromCivil(2029, 3, 15) * 86400, 47),
        (RFC3339.daysFromCivil(2027, 3, 15) * 86400, 100),
        (RFC3339.daysFromCivil(2026, 3, 15) * 86400, 200),
        (Int64.min, 398),
    ]

    /// The longest lifetime, in days, for a certificate whose notBefore is `notBefore`.
    static func maximumDays(issuedAt notBefore: Int64) -> Int64 {
        schedule.first { notBefore >= $0.from }!.days
    }

    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        let leaf = c.leaf
        if leaf.notBefore > leaf.notAfter {
            return .fails(Finding("invalid-validity", "the leaf's notBefore (\(RFC3339.format(leaf.notBefore))) is after its notAfter (\(RFC3339.format(leaf.notAfter))): it is never valid", about: leaf))
        }
        guard c.webPKI else { return .meets }
        let limit = Self.maximumDays(issuedAt: leaf.notBefore)
        let lifetime = leaf.notAfter - leaf.notBefore
        guard lifetime > limit * 86400 else { return .meets }
        // Floored like every days count (docs/cli.md); at the limit itself the seconds over it are named.
        let days = lifetime / 86400, over = lifetime % 86400
        let span = days == limit && over > 0 ? "\(days) days and \(over) seconds" : "\(days) days"
        let since = Self.schedule.first { leaf.notBefore >= $0.from }!.from
        let when = since == Int64.min ? "" : " issued from \(RFC3339.format(since).prefix(10))"
        let message = "the leaf is valid for \(span); browsers reject publicly-trusted server certificates\(when) valid for more than \(limit) days (CA/B Forum BR 6.3.2)"
        if c.systemTrust { return .fails(Finding("validity-too-long", message, about: leaf)) }
        return .fails(.warning("validity-too-long", message + "; only a warning because the root is a private anchor", about: leaf))
    }
}

/// RSA keys below 2048 bits and EC keys below 256 bits are breakable or forbidden (BR 6.1.5).
struct KeyStrengthPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        for (index, cert) in c.chain.enumerated() where cert.hasWeakKey {
            let algorithm = cert.publicKey.algorithm
            do {
                let what = Describe.role(index: index, of: c.chain)
                let needed = algorithm.family == "EC" ? "P-256 or larger" : "at least 2048 bits"
                findings.append(Finding("weak-key", "\(what) \(Describe.quoted(cert)) has a weak \(algorithm.family) \(algorithm.bits)-bit key; use \(needed)", about: cert))
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// SHA-1 (and MD5) signatures are forgeable and rejected by every current client.
struct SignatureAlgorithmPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        var findings: [Finding] = []
        for (index, cert) in c.signedCertificates.enumerated() {
            guard let digest = cert.signatureDigest?.uppercased() else { continue }
            let what = Describe.role(index: index, of: c.chain)
            if digest == "SHA1" {
                findings.append(Finding("sha1-signature", "\(what) \(Describe.quoted(cert)) is signed with SHA-1 (\(cert.signatureAlgorithm)), which clients reject; reissue it with SHA-256", about: cert))
            } else if digest == "MD5" || digest == "MD2" || digest == "MD4" {
                findings.append(Finding("weak-signature", "\(what) \(Describe.quoted(cert)) is signed with \(digest) (\(cert.signatureAlgorithm)); reissue it with SHA-256", about: cert))
            }
        }
        return findings.isEmpty ? .meets : .fails(findings)
    }
}

/// With `--key`: the private key must be the leaf's.
struct KeyPairPolicy: ServerCertificatePolicy {
    func evaluate(_ c: PolicyContext) -> PolicyVerdict {
        guard let key = c.key else { return .meets }
        if key.matches(c.leaf.publicKey) { return .meets }
        let leafKey = c.leaf.publicKey.algorithm
        return .fails(Finding("key-mismatch", "the private key (\(key.algorithm)) does not belong to the leaf \(Describe.quoted(c.leaf)) (whose key is \(leafKey)); nginx would refuse to start with this pair", about: c.leaf))
    }
}

/// Shared wording for certificates in messages.
enum Describe {
    static func quoted(_ cert: Certificate) -> String {
        let s = cert.subject.description
        return s.isEmpty ? "(empty subject)" : "\"\(s)\""
    }

    static func name(_ dn: DistinguishedName) -> String {
        let s = dn.description
        return s.isEmpty ? "(empty name)" : "\"\(s)\""
    }

    /// "the leaf", "the intermediate", "the root" for a position in a chain.
    static func role(index: Int, of chain: [Certificate]) -> String {
        if index == 0 { return "the leaf" }
        if index == chain.count - 1, chain[index].looksSelfSigned { return "the root" }
        return "the intermediate"
    }
}

extension Certificate {
    /// RSA (and other non-EC, non-EdDSA keys) below 2048 bits, EC below 256 bits.
    var hasWeakKey: Bool {
        switch keyFamily {
        case .rsa(let bits): return bits < 2048
        case .ec(_, let bits): return bits < 256
        case .other(_, let bits): return bits < 2048 && bits > 0
        case .ed25519, .ed448: return false
        }
    }
}
