/// What `certs inspect` reports about one input: every certificate (in order), CSR and key,
/// as plain values. Front ends format them as text or as the versioned JSON schema below.
///
/// JSON: one `InspectionReport` document for any number of files (schema version 2, in
/// docs/json.md; version 1 printed a bare object for one file and an array for several).
public struct Inspection: Sendable {

    public var source: String
    public var encoding: String
    public var certificates: [CertificateSummary]
    public var requests: [RequestSummary]
    public var keys: [KeySummary]

    /// Inspects a parsed document at time `now` (Unix seconds).
    public init(document: CryptoDocument, source: String, now: Int64) throws {
        self.source = source
        encoding = document.encoding.rawValue
        let certs = document.certificates
        certificates = try certs.enumerated().map { i, c in
            try CertificateSummary(c, index: i, in: certs, now: now)
        }
        requests = try document.requests.map(RequestSummary.init)
        keys = try document.privateKeys.map { try KeySummary(private: $0) } + document.publicKeys.map { try KeySummary(public: $0) }
    }

    public var json: JSON {
        .object([
            ("source", .string(source)),
            ("encoding", .string(encoding)),
            ("certificates", .array(certificates.map(\.json))),
            ("requests", .array(requests.map(\.json))),
            ("keys", .array(keys.map(\.json))),
        ])
    }
}

/// What `certs inspect FILE...` read: every file it could, and the ones it could not, in the
/// order given. The same shape for one file and for many.
public struct InspectionReport: Sendable {
    public static let schemaVersion = 2

    public struct Unreadable: Sendable {
        public var source: String
        public var message: String
        public init(source: String, message: String) {
            self.source = source
            self.message = message
        }
    }

    public var files: [Inspection]
    public var errors: [Unreadable]

    public init(files: [Inspection], errors: [Unreadable]) {
        self.files = files
        self.errors = errors
    }

    public var json: JSON {
        .object([
            ("version", .int(Self.schemaVersion)),
            ("files", .array(files.map(\.json))),
            ("errors", .array(errors.map { .object([("source", .string($0.source)), ("message", .string($0.message))]) })),
        ])
    }
}

public struct KeyInfo: Sendable {
    public var type: String
    public var bits: Int
    public var curve: String?
    /// SHA-256 of the DER SubjectPublicKeyInfo, lower-case hex.
    public var publicKeySHA256: String

    init(_ key: PublicKey) throws {
        let a = key.algorithm
        type = a.family
        bits = a.bits
        curve = a.curve
        publicKeySHA256 = try key.sha256().hexString
    }

    /// "EC P-256", "RSA 2048 bits", "Ed25519".
    public var text: String {
        if let curve { return "\(type) \(curve)" }
        if type == "Ed25519" || type == "Ed448" { return type }
        return "\(type) \(bits) bits"
    }

    var json: JSON {
        .object([("type", .string(type)), ("bits", .int(bits)), ("curve", .optional(curve)), ("publicKeySHA256", .string(publicKeySHA256))])
    }
}

public struct CertificateSummary: Sendable {
    public var index: Int
    /// "leaf", "intermediate", "root" (self-signed CA) or "self-signed" (self-signed non-CA).
    public var role: String
    public var subject: String
    public var commonName: String?
    public var issuer: String
    public var serial: String
    public var notBefore: Int64
    public var notAfter: Int64
    public var daysLeft: Int
    public var expired: Bool
    public var notYetValid: Bool
    public var subjectAlternativeNames: [String]
    public var key: KeyInfo
    public var signatureAlgorithm: String
    public var sha256Fingerprint: String
    public var subjectKeyIdentifier: String?
    public var authorityKeyIdentifier: String?
    public var isCA: Bool
    public var pathLength: Int?
    public var keyUsage: [String]?
    public var extendedKeyUsage: [String]?
    public var ocspURLs: [String]
    public var caIssuerURLs: [String]
    /// Whether the next certificate in the input issued this one (bundles should be leaf → root).
    public var issuedByNext: Bool?

    public init(_ c: Certificate, index: Int, in all: [Certificate], now: Int64) throws {
        self.index = index
        let selfSigned = c.isSelfSigned
        isCA = c.isCA
        role = selfSigned ? (isCA ? "root" : "self-signed") : (isCA ? "intermediate" : "leaf")
        let subjectName = c.subject
        subject = subjectName.description
        commonName = subjectName.commonName
        issuer = c.issuer.description
        serial = c.serialHex
        notBefore = c.notBefore
        notAfter = c.notAfter
        daysLeft = daysBetween(now, notAfter)
        expired = now > notAfter
        notYetValid = now < notBefore
        subjectAlternativeNames = c.subjectAlternativeNames.map(\.description)
        key = try KeyInfo(c.publicKey)
        signatureAlgorithm = c.signatureAlgorithm
        sha256Fingerprint = c.fingerprint().hexString
        subjectKeyIdentifier = c.subjectKeyIdentifier.map(\.colonHex)
        authorityKeyIdentifier = c.authorityKeyIdentifier.map(\.colonHex)
        pathLength = c.basicConstraints?.pathLength
        keyUsage = c.keyUsage
        extendedKeyUsage = c.extendedKeyUsage
        let aia = c.authorityInfoAccess
        ocspURLs = aia.ocsp
        caIssuerURLs = aia.caIssuers
        issuedByNext = index + 1 < all.count ? c.isIssued(by: all[index + 1]) : nil
    }

    public var json: JSON {
        .object([
            ("index", .int(index)),
            ("role", .string(role)),
            ("subject", .string(subject)),
            ("commonName", .optional(commonName)),
            ("issuer", .string(issuer)),
            ("serial", .string(serial)),
            ("notBefore", .string(RFC3339.format(notBefore))),
            ("notAfter", .string(RFC3339.format(notAfter))),
            ("daysLeft", .int(daysLeft)),
            ("expired", .bool(expired)),
            ("notYetValid", .bool(notYetValid)),
            ("subjectAltNames", .strings(subjectAlternativeNames)),
            ("key", key.json),
            ("signatureAlgorithm", .string(signatureAlgorithm)),
            ("sha256Fingerprint", .string(sha256Fingerprint)),
            ("subjectKeyIdentifier", .optional(subjectKeyIdentifier)),
            ("authorityKeyIdentifier", .optional(authorityKeyIdentifier)),
            ("isCA", .bool(isCA)),
            ("pathLength", pathLength.map { .int($0) } ?? .null),
            ("keyUsage", keyUsage.map(JSON.strings) ?? .null),
            ("extendedKeyUsage", extendedKeyUsage.map(JSON.strings) ?? .null),
            ("ocspURLs", .strings(ocspURLs)),
            ("caIssuerURLs", .strings(caIssuerURLs)),
            ("issuedByNext", issuedByNext.map { .bool($0) } ?? .null),
        ])
    }
}

public struct RequestSummary: Sendable {
    public var subject: String
    public var commonName: String?
    public var subjectAlternativeNames: [String]
    public var key: KeyInfo?
    public var signatureAlgorithm: String
    public var signatureValid: Bool

    init(_ r: CertificateSigningRequest) throws {
        let name = r.subject
        subject = name.description
        commonName = name.commonName
        subjectAlternativeNames = r.subjectAlternativeNames.map(\.description)
        key = try r.publicKey.map(KeyInfo.init)
        signatureAlgorithm = r.signatureAlgorithm
        signatureValid = r.signatureIsValid
    }

    public var json: JSON {
        .object([
            ("subject", .string(subject)),
            ("commonName", .optional(commonName)),
            ("subjectAltNames", .strings(subjectAlternativeNames)),
            ("key", key?.json ?? .null),
            ("signatureAlgorithm", .string(signatureAlgorithm)),
            ("signatureValid", .bool(signatureValid)),
        ])
    }
}

public struct KeySummary: Sendable {
    /// "private" or "public". A private key is described, never shown.
    public var kind: String
    public var key: KeyInfo

    init(private k: PrivateKey) throws { kind = "private"; key = try KeyInfo(k.publicKey) }
    init(public k: PublicKey) throws { kind = "public"; key = try KeyInfo(k) }

    public var json: JSON {
        .object([("kind", .string(kind)), ("key", key.json)])
    }
}
