/// Builds and signs X.509 v3 certificates. Used by the local CA and by tests that need
/// unusual certificates (expired, CA-flagged leaves) made the same way a CA would make them.
/// The profile lives here; `sign(with:)`, which encodes it into an `X509`, is in OpenSSL/.
public struct CertificateBuilder {
    public var subject: DistinguishedName
    public var subjectAlternativeNames: [GeneralName] = []
    public var publicKey: PublicKey
    public var notBefore: Int64
    public var notAfter: Int64
    /// nil: self-signed (subject = issuer, signed by the subject's own key).
    public var issuer: Certificate?
    public var isCA = false
    public var pathLength: Int? = nil
    /// keyUsage value in OpenSSL's config syntax, e.g. "critical,digitalSignature".
    public var keyUsage: String? = nil
    /// extendedKeyUsage in OpenSSL's config syntax, e.g. "serverAuth,clientAuth".
    public var extendedKeyUsage: String? = nil
    /// Serial number bytes; random 16 bytes (positive) when nil.
    public var serial: [UInt8]? = nil
    /// Digest override ("SHA1" to make a legacy fixture); by default the key type decides.
    public var digestName: String? = nil
    /// Encodes `serial` as a negative INTEGER (a fixture for RFC 5280 4.1.2.2; CAs must not).
    public var negativeSerial = false
    /// Fixture extensions by OpenSSL short name, in its config syntax ("nameConstraints":
    /// "critical,permitted;DNS:example.test"; "authorityInfoAccess": "DER:30:00" for raw DER).
    /// Each replaces the profile's extension of that name or is added after them; an empty value
    /// leaves the extension out.
    public var extensionOverrides: [String: String] = [:]
    /// Extensions OpenSSL has no name for, added last: dotted OID, criticality and the DER that
    /// goes inside extnValue's OCTET STRING (TLS-ALPN-01's id-pe-acmeIdentifier, RFC 8737 §3).
    public var rawExtensions: [(oid: String, critical: Bool, der: [UInt8])] = []

    public init(subject: DistinguishedName, publicKey: PublicKey, notBefore: Int64, notAfter: Int64) {
        self.subject = subject
        self.publicKey = publicKey
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// A server (leaf) certificate profile: SANs, digitalSignature (+keyEncipherment for RSA), serverAuth.
    public static func server(names: [GeneralName], publicKey: PublicKey, notBefore: Int64, notAfter: Int64, issuer: Certificate?) -> CertificateBuilder {
        let cn = names.first { if case .dns = $0 { return true } else { return false } }?.value ?? names.first?.value
        var b = CertificateBuilder(subject: DistinguishedName(commonName: cn), publicKey: publicKey, notBefore: notBefore, notAfter: notAfter)
        b.subjectAlternativeNames = names
        b.issuer = issuer
        if case .rsa = publicKey.algorithm { b.keyUsage = "critical,digitalSignature,keyEncipherment" } else { b.keyUsage = "critical,digitalSignature" }
        b.extendedKeyUsage = "serverAuth"
        return b
    }
}
