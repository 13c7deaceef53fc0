/// JSON Web Signatures as ACME uses them (RFC 7515, RFC 8555 §6.2): flattened JSON
/// serialization, ES256 (P-256) or RS256 account keys, `jwk` or `kid` in the protected header.
public enum JWS {
    /// The JWS algorithm for a key: ES256 for P-256, ES384 for P-384, RS256 for RSA.
    public static func algorithm(for key: PrivateKey) throws -> String {
        switch key.algorithm {
        case .ec(let curve, _) where curve == "P-256": return "ES256"
        case .ec(let curve, _) where curve == "P-384": return "ES384"
        case .rsa: return "RS256"
        default: throw JWSError.unsupportedKey(key.algorithm.description)
        }
    }

    /// The public JWK of a key (RFC 7517), members in lexicographic order (what RFC 7638 hashes).
    public static func jwk(for key: PrivateKey) throws -> JSON {
        switch key.algorithm {
        case .ec(let curve, _) where curve == "P-256" || curve == "P-384":
            let size = curve == "P-256" ? 32 : 48
            let x = try key.publicParameter(.ecX, width: size)
            let y = try key.publicParameter(.ecY, width: size)
            return .object([("crv", .string(curve)), ("kty", .string("EC")),
                            ("x", .string(Base64.urlEncode(x))), ("y", .string(Base64.urlEncode(y)))])
        case .rsa:
            let e = try key.publicParameter(.rsaE, width: nil)
            let n = try key.publicParameter(.rsaN, width: nil)
            return .object([("e", .string(Base64.urlEncode(e))), ("kty", .string("RSA")), ("n", .string(Base64.urlEncode(n)))])
        default:
            throw JWSError.unsupportedKey(key.algorithm.description)
        }
    }

    /// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no spaces.
    public static func thumbprint(jwk: JSON) -> String {
        Base64.urlEncode(Digest.sha256(Array(canonical(jwk).utf8)))
    }

    public static func thumbprint(for key: PrivateKey) throws -> String { thumbprint(jwk: try jwk(for: key)) }

    /// The required members only, sorted, compact.
    static func canonical(_ jwk: JSON) -> String {
        let required: [String]
        switch jwk["kty"]?.stringValue {
        case "EC": required = ["crv", "kty", "x", "y"]
        case "RSA": required = ["e", "kty", "n"]
        case "oct": required = ["k", "kty"]
        default: required = (jwk.objectValue ?? []).map(\.0).sorted()
        }
        let fields = required.compactMap { name in jwk[name].map { (name, $0) } }
        return JSON.object(fields).rendered(pretty: false)
    }

    /// ACME key authorization (RFC 8555 §8.1): `token || '.' || base64url(thumbprint)`.
    public static func keyAuthorization(token: String, accountKey: PrivateKey) throws -> String {
        "\(token).\(try thumbprint(for: accountKey))"
    }

    /// The DNS-01 TXT value: base64url(SHA-256(key authorization)).
    public static func dnsValue(keyAuthorization: String) -> String {
        Base64.urlEncode(Digest.sha256(Array(keyAuthorization.utf8)))
    }

    /// A flattened JWS: `{"protected": …, "payload": …, "signature": …}`. `payload` nil means
    /// POST-as-GET (an empty payload string).
    public static func sign(payload: JSON?, protected header: [(String, JSON)], key: PrivateKey) throws -> JSON {
        let alg = try algorithm(for: key)
        let protected64 = Base64.urlEncode(JSON.object([("alg", .string(alg))] + header).rendered(pretty: false))
        let payload64 = payload.map { Base64.urlEncode($0.rendered(pretty: false)) } ?? ""
        let signature = try signature(Array("\(protected64).\(payload64)".utf8), key: key)
        return .object([("protected", .string(protected64)), ("payload", .string(payload64)), ("signature", .string(Base64.urlEncode(signature)))])
    }

    /// The raw JWS signature over `input`: r||s (each the curve size, left-padded) for ECDSA,
    /// PKCS#1 v1.5 for RSA.
    public static func signature(_ input: [UInt8], key: PrivateKey) throws -> [UInt8] {
        let alg = try algorithm(for: key)
        let der = try key.sign(input, digest: alg == "ES384" ? .sha384 : .sha256, what: "JWS")
        guard alg.hasPrefix("ES") else { return der }
        return try ECDSASignature.rawConcatenation(der: der, size: alg == "ES256" ? 32 : 48)
    }

    /// HMAC-SHA256 (for External Account Binding).
    public static func hmacSHA256(key: [UInt8], data: [UInt8]) throws -> [UInt8] {
        try Digest.hmacSHA256(key: key, data: data)
    }

    /// The `externalAccountBinding` member of a newAccount payload (RFC 8555 §7.3.4): an HS256 JWS
    /// over the account's JWK, keyed with the CA's base64url MAC key.
    public static func externalAccountBinding(keyID: String, macKey: [UInt8], accountKey: PrivateKey, url: String) throws -> JSON {
        let header = JSON.object([("alg", .string("HS256")), ("kid", .string(keyID)), ("url", .string(url))])
        let protected64 = Base64.urlEncode(header.rendered(pretty: false))
        let payload64 = Base64.urlEncode(try jwk(for: accountKey).rendered(pretty: false))
        let mac = try hmacSHA256(key: macKey, data: Array("\(protected64).\(payload64)".utf8))
        return .object([("protected", .string(protected64)), ("payload", .string(payload64)), ("signature", .string(Base64.urlEncode(mac)))])
    }
}

public enum JWSError: CertsFailure, Equatable {
    case unsupportedKey(String)
    public var kind: FailureKind { .input }
    public var description: String {
        switch self {
        case .unsupportedKey(let a): return "an ACME account key must be EC P-256, P-384 or RSA, not \(a)"
        }
    }
}
