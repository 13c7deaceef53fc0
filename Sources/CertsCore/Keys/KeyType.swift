/// The key types `certs` generates. The raw value is the name users type (`--type ec-p256`).
public enum KeyType: String, CaseIterable, Sendable, CustomStringConvertible {
    case ecP256 = "ec-p256"
    case ecP384 = "ec-p384"
    case rsa2048 = "rsa-2048"
    case rsa3072 = "rsa-3072"
    case rsa4096 = "rsa-4096"
    case ed25519 = "ed25519"

    /// ECDSA P-256: small, fast, accepted by every CA and client today.
    public static let `default`: KeyType = .ecP256

    public var description: String { rawValue }

    /// Parses a user's spelling, accepting common aliases (`p256`, `rsa2048`, `ecdsa`).
    public init(parsing text: String) throws {
        let t = text.lowercased().replacing("_", with: "-")
        if let k = KeyType(rawValue: t) { self = k; return }
        switch t {
        case "ec", "ecdsa", "p256", "p-256", "ec-256", "ecdsa-p256", "prime256v1", "secp256r1": self = .ecP256
        case "p384", "p-384", "ec-384", "ecdsa-p384", "secp384r1": self = .ecP384
        case "rsa", "rsa2048": self = .rsa2048
        case "rsa3072": self = .rsa3072
        case "rsa4096": self = .rsa4096
        case "ed-25519", "eddsa": self = .ed25519
        default:
            throw InputError.invalidValue(option: "key type", value: text,
                reason: "choose one of \(KeyType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }
}

/// What an existing key is: algorithm and size. Never any secret.
public enum KeyAlgorithm: Sendable, Equatable, CustomStringConvertible {
    case rsa(bits: Int)
    case ec(curve: String, bits: Int)
    case ed25519
    case ed448
    case other(name: String, bits: Int)

    /// "RSA", "EC", "Ed25519".
    public var family: String {
        switch self {
        case .rsa: return "RSA"
        case .ec: return "EC"
        case .ed25519: return "Ed25519"
        case .ed448: return "Ed448"
        case .other(let name, _): return name
        }
    }

    public var bits: Int {
        switch self {
        case .rsa(let b), .ec(_, let b), .other(_, let b): return b
        case .ed25519: return 256
        case .ed448: return 456
        }
    }

    /// The NIST name of an EC curve ("P-256"), nil for other keys.
    public var curve: String? {
        if case .ec(let c, _) = self { return c }
        return nil
    }

    public var description: String {
        switch self {
        case .rsa(let b): return "RSA \(b)"
        case .ec(let c, _): return "EC \(c)"
        case .ed25519: return "Ed25519"
        case .ed448: return "Ed448"
        case .other(let n, let b): return "\(n) \(b)"
        }
    }
}
