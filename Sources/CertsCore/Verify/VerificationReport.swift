/// One problem found while verifying: a stable machine code and a sentence a person acts on.
public struct Finding: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }

    /// Stable identifier ("expired", "hostname-mismatch"); see docs/json.md.
    public let code: String
    public let message: String
    public let severity: Severity
    /// Which certificate it concerns (its fingerprint), for de-duplication; not reported.
    let subjectKey: [UInt8]?

    public init(_ code: String, _ message: String, severity: Severity = .error) {
        self.init(code, message, severity: severity, about: nil)
    }

    init(_ code: String, _ message: String, severity: Severity = .error, about certificate: Certificate?) {
        self.code = code
        self.message = message
        self.severity = severity
        subjectKey = certificate?.fingerprint()
    }

    static func warning(_ code: String, _ message: String, about certificate: Certificate? = nil) -> Finding {
        Finding(code, message, severity: .warning, about: certificate)
    }

    public var description: String { "\(code): \(message)" }

    public var json: JSON { .object([("code", .string(code)), ("message", .string(message))]) }
}

/// One certificate of the chain as verified: leaf first, then issuers up to the root.
public struct ChainLink: Sendable, Equatable {
    public enum Role: String, Sendable { case leaf, intermediate, root }

    public let subject: String
    public let issuer: String
    public let notBefore: Int64
    public let notAfter: Int64
    public let role: Role
    /// Whether the presented chain (file or server) held it; false when it came from the trust store.
    public let presented: Bool
    /// The certificate itself.
    public let certificate: Certificate

    /// Lower-case hex SHA-256 of the DER certificate (computed when asked: text output omits it).
    public var sha256Fingerprint: String { certificate.fingerprint().hexString }

    public var json: JSON {
        .object([
            ("subject", .string(subject)),
            ("issuer", .string(issuer)),
            ("notAfter", .string(RFC3339.format(notAfter))),
            ("sha256Fingerprint", .string(sha256Fingerprint)),
            ("role", .string(role.rawValue)),
        ])
    }
}

/// How a `--connect` verification reached the server.
public struct ConnectionSummary: Sendable, Equatable {
    public let protocolVersion: String
    public let cipher: String
    /// The key-exchange group ("X25519"), nil when none or unknown.
    public let group: String?
    public let sni: String?
    public let address: String
    /// The plaintext protocol spoken before TLS (`smtp`, `postgres`…), nil for direct TLS.
    public var startTLS: String? = nil

    public init(_ served: ServedChain) {
        protocolVersion = served.protocolVersion
        cipher = served.cipher
        group = served.group
        sni = served.sni
        address = served.address
        startTLS = served.endpoint.startTLS?.scheme
    }

    public var json: JSON {
        .object([
            ("protocol", .string(protocolVersion)),
            ("cipher", .string(cipher)),
            ("group", .optional(group)),
            ("sni", .optional(sni)),
            ("address", .string(address)),
            ("starttls", .optional(startTLS)),
        ])
    }
}

/// The verdict on one input. A value, not an error: `valid` is false when any error was found;
/// warnings are reported but leave it true.
public struct VerificationReport: Sendable {
    /// The input: a path, `stdin`, or `host:port` for --connect.
    public let source: String
    /// The name or address checked against the SANs, nil when none was asked for.
    public let host: String?
    /// The validation time (Unix seconds).
    public let at: Int64
    public let chain: [ChainLink]
    public internal(set) var errors: [Finding]
    public internal(set) var warnings: [Finding]
    public let connection: ConnectionSummary?

    public var valid: Bool { errors.isEmpty }

    /// Every code found, errors then warnings.
    public var codes: [String] { errors.map(\.code) + warnings.map(\.code) }

    /// One element of `results` in `certs verify --json` (docs/json.md).
    public var json: JSON {
        var fields: [(String, JSON)] = [
            ("source", .string(source)),
            ("valid", .bool(valid)),
            ("host", .optional(host)),
            ("at", .string(RFC3339.format(at))),
            ("chain", .array(chain.map(\.json))),
            ("errors", .array(errors.map(\.json))),
            ("warnings", .array(warnings.map(\.json))),
        ]
        if let connection { fields.append(("connection", connection.json)) }
        return .object(fields)
    }

    /// The whole `certs verify --json` document for several reports.
    public static func document(_ reports: [VerificationReport]) -> JSON {
        .object([("version", .int(1)), ("results", .array(reports.map(\.json)))])
    }
}
