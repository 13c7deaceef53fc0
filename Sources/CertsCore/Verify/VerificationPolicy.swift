/// Which rule book a verification follows (`certs verify --policy`). docs/verification.md lists
/// every rule, its source and where the two differ.
public enum VerificationPolicy: String, Sendable, CaseIterable, CustomStringConvertible {
    /// RFC 5280 plus the CA/Browser Forum Baseline Requirements and what browsers enforce: the
    /// answer to "will browsers accept this certificate?". The default everywhere.
    case webpki
    /// RFC 5280's certificate profile and path validation only: for private PKIs whose clients
    /// are not browsers (a CA certificate as a server's leaf, leaves without extendedKeyUsage).
    case rfc5280

    public var description: String { rawValue }

    /// The CA/B Forum rules apply.
    var isWebPKI: Bool { self == .webpki }
}
