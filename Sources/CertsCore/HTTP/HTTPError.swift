/// Why an HTTP exchange failed. Messages name the host and what failed, never request bodies,
/// query strings or headers (which may carry tokens).
public enum HTTPError: CertsFailure, Equatable {
    case invalidURL(url: String, reason: String)
    case invalidHeader(name: String, reason: String)
    case connect(host: String, detail: String)
    case tls(host: String, detail: String)
    case timeout(host: String, phase: String, seconds: Double)
    case protocolError(host: String, detail: String)
    case tooLarge(host: String, limit: Int)
    case setup(String)

    public var kind: FailureKind {
        switch self {
        case .invalidURL, .invalidHeader: return .input
        case .setup: return .internal
        default: return .remote
        }
    }

    public var description: String {
        switch self {
        case .invalidURL(let u, let r): return "invalid URL \"\(u)\": \(r)"
        case .invalidHeader(let n, let r): return "invalid HTTP header \"\(n)\": \(r)"
        case .connect(let h, let d): return "cannot connect to \(h): \(d)"
        case .tls(let h, let d): return "TLS with \(h) failed: \(d)"
        case .timeout(let h, let p, let s): return "\(h): no answer within \(TLSError.seconds(s)) during \(p)"
        case .protocolError(let h, let d): return "\(h) sent an invalid HTTP response: \(d)"
        case .tooLarge(let h, let limit): return "\(h) sent a response larger than \(limit / (1024 * 1024)) MiB"
        case .setup(let d): return "cannot set up the HTTP client: \(d)"
        }
    }
}
