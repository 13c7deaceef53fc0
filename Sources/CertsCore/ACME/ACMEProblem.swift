#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An RFC 7807 problem document from an ACME server (RFC 8555 §6.7), as an error.
///
/// Its one-line message is the server's `detail` with the problem type (without the
/// `urn:ietf:params:acme:error:` prefix) and each sub-problem's identifier and detail.
public struct ACMEProblem: CertsFailure, Equatable {
    public static let prefix = "urn:ietf:params:acme:error:"

    public struct SubProblem: Sendable, Equatable {
        public let type: String
        public let detail: String
        public let identifier: String?
    }

    /// The full type URN ("urn:ietf:params:acme:error:badNonce").
    public let type: String
    public let detail: String
    public let status: Int?
    public let subproblems: [SubProblem]
    /// What the client was doing ("creating the order"), for context.
    public var context: String?

    public init(type: String, detail: String, status: Int? = nil, subproblems: [SubProblem] = [], context: String? = nil) {
        self.type = type
        self.detail = detail
        self.status = status
        self.subproblems = subproblems
        self.context = context
    }

    /// Reads a problem document; nil when `json` is not one.
    public init?(json: JSON, context: String? = nil) {
        guard let type = json["type"]?.stringValue else { return nil }
        self.type = type
        detail = Self.clean(json["detail"]?.stringValue ?? "")
        status = json["status"]?.intValue.map { Int($0) }
        subproblems = (json["subproblems"]?.arrayValue ?? []).map { sub in
            let id = sub["identifier"]?["value"]?.stringValue
            return SubProblem(type: sub["type"]?.stringValue ?? "", detail: Self.clean(sub["detail"]?.stringValue ?? ""), identifier: id)
        }
        self.context = context
    }

    /// The type without the ACME URN prefix ("badNonce", "rateLimited", "connection").
    public var shortType: String { type.hasPrefix(Self.prefix) ? String(type.dropFirst(Self.prefix.count)) : type }

    public var kind: FailureKind { .remote }

    public var description: String {
        var text = "ACME server: "
        if let context { text += "\(context): " }
        text += detail.isEmpty ? shortType : "\(detail) (\(shortType))"
        for sub in subproblems {
            text += "; \(sub.identifier ?? "?"): \(sub.detail.isEmpty ? sub.shortType : sub.detail)"
        }
        return text
    }

    /// Server text on one line, bounded, without control characters.
    static func clean(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7f { out += " " } else { out.unicodeScalars.append(scalar) }
            if out.unicodeScalars.count >= 500 { out += "…"; break }
        }
        return out.trimmingSpaces
    }
}

extension ACMEProblem.SubProblem {
    var shortType: String { type.hasPrefix(ACMEProblem.prefix) ? String(type.dropFirst(ACMEProblem.prefix.count)) : type }
}

/// Client-side ACME failures that are not a server's problem document.
public enum ACMEError: CertsFailure, Equatable {
    /// The server answered with something that is not valid ACME.
    case protocolViolation(String)
    case httpStatus(url: String, status: Int, body: String)
    case timedOut(what: String, seconds: Int)
    case authorizationFailed(identifier: String, detail: String)
    case orderInvalid(detail: String)
    case noSupportedChallenge(identifier: String, wanted: String, offered: [String])
    case termsNotAgreed(url: String)
    case externalAccountRequired
    case hookFailed(action: String, name: String, detail: String)
    case challengeServer(String)
    /// A challenge responder ("HTTP-01", "TLS-ALPN-01") could not bind its port (`errno` tells why: EACCES, EADDRINUSE…).
    case challengePort(challenge: String, endpoint: String, reason: String, errno: Int32)
    /// A name this challenge method cannot validate (a wildcard without DNS-01, an IP address over DNS-01).
    case unsuitableChallenge(identifier: String, wildcard: Bool)
    case noAccount(String)
    /// The CA forgot the account and its terms are not the ones the user agreed to.
    case termsChanged(agreed: String?, current: String)
    /// CA fallback: every CA of the list failed (each with its reason); `last` is the last one's kind.
    case everyCAFailed([String], last: FailureKind)
    case invalidRequest(String)

    public var kind: FailureKind {
        switch self {
        case .termsNotAgreed, .externalAccountRequired, .invalidRequest, .noAccount, .termsChanged, .unsuitableChallenge: return .input
        case .everyCAFailed(_, let last): return last
        case .challengeServer, .challengePort: return .output
        default: return .remote
        }
    }

    public var description: String {
        switch self {
        case .protocolViolation(let d): return "ACME server: unexpected answer: \(d)"
        case .httpStatus(let u, let s, let b): return "ACME server: \(u) answered HTTP \(s)\(b.isEmpty ? "" : ": \(b)")"
        case .timedOut(let w, let s): return "ACME server: \(w) did not finish within \(s) s"
        case .authorizationFailed(let i, let d): return "validation of \(i) failed: \(d)"
        case .orderInvalid(let d): return "ACME server: the order became invalid: \(d)"
        case .noSupportedChallenge(let i, let w, let o):
            return "ACME server offers no \(w) challenge for \(i) (offered: \(o.isEmpty ? "none" : o.joined(separator: ", ")))"
        case .termsNotAgreed(let u): return "the CA's terms of service (\(u)) must be accepted: read them first"
        case .externalAccountRequired: return "this CA requires External Account Binding (a key ID and MAC key the CA gives you)"
        case .hookFailed(let a, let n, let d): return "the DNS hook failed to \(a) the TXT record \(n): \(d)"
        case .challengeServer(let d): return "cannot serve challenges: \(d)"
        case .challengePort(let c, let e, let r, let errno):
            let why = errno == EACCES ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : (errno == EADDRINUSE ? " (another server is listening there)" : "")
            return "cannot serve \(c) challenges: cannot listen on \(e): \(r)\(why)"
        case .unsuitableChallenge(let i, let wildcard):
            return "invalid domain \"\(i)\": " + (wildcard ? "wildcard names can only be validated over DNS" : "IP addresses cannot be validated over DNS")
        case .noAccount(let d): return d
        case .everyCAFailed(let tried, _):
            return "every CA failed: " + tried.joined(separator: "; ")
        case .termsChanged(let agreed, let current):
            return "the CA no longer knows the ACME account and its terms of service are now \(current)"
                + (agreed.map { " (you agreed to \($0))" } ?? " (no agreement is recorded)")
                + ": read them, then agree to them again"
        case .invalidRequest(let d): return d
        }
    }
}
