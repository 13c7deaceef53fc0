public enum RevocationError: CertsFailure, Equatable {
    case notACRL(source: String)

    public var kind: FailureKind { .remote }
    public var description: String {
        switch self {
        case .notACRL(let s): return "\(s) is not a CRL (neither DER nor PEM X509 CRL)"
        }
    }
}
