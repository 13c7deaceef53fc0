/// An `http://` or `https://` URL split into what a request needs, without Foundation.
///
/// Accepts `scheme://host[:port][/path][?query]` with host names, IPv4 literals and bracketed IPv6
/// literals. User info (`user:pass@`) and fragments are refused: nothing in `certs` sends them.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public let isHTTPS: Bool
    /// Host name (lower-cased) or IP literal, without brackets.
    public let host: String
    public let port: UInt16
    /// Path and query as sent on the request line ("/", "/acme/dir?x=1").
    public let target: String

    public init(_ text: String) throws {
        func fail(_ why: String) -> HTTPError { .invalidURL(url: Self.redacted(text), reason: why) }
        let lower = text.lowercased()
        var rest: Substring
        if lower.hasPrefix("https://") {
            isHTTPS = true
            rest = text.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            isHTTPS = false
            rest = text.dropFirst(7)
        } else {
            throw fail("only http:// and https:// URLs are supported")
        }
        guard !text.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else { throw fail("spaces or control characters") }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        target = path
        guard !authority.contains("@") else { throw fail("user information in URLs is not supported") }
        var host: String
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw fail("missing ']' after the IPv6 address") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw fail("expected ':PORT' after ']'") }
                portText = after.dropFirst()
            }
            guard host.contains(":"), IPAddress.parse(host) != nil else { throw fail("'\(host)' in brackets is not an IPv6 address") }
        } else {
            if let colon = authority.lastIndex(of: ":") {
                host = String(authority[..<colon])
                portText = authority[authority.index(after: colon)...]
            } else {
                host = String(authority)
            }
            guard !host.isEmpty else { throw fail("no host") }
            host = host.lowercased()
            if IPAddress.parse(host) == nil {
                guard host.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F }) else {
                    throw fail("'\(host)' is not a host name")
                }
            }
        }
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw fail("the port must be a number from 1 to 65535") }
            port = p
        } else {
            port = isHTTPS ? 443 : 80
        }
        self.host = host
    }

    public var isIPAddress: Bool { IPAddress.parse(host) != nil }

    /// `host`, `host:port` when not the default, brackets around IPv6: the Host header's value.
    public var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (isHTTPS ? 443 : 80) ? h : "\(h):\(port)"
    }

    /// `https://host:port/path` (the query is left out of descriptions: it may carry tokens).
    public var description: String {
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        return "\(isHTTPS ? "https" : "http")://\(authority)\(path)"
    }

    /// Scheme and authority only, for error messages about URLs that did not parse.
    static func redacted(_ text: String) -> String {
        let cut = text.prefix(200)
        guard let q = cut.firstIndex(where: { $0 == "?" || $0 == "#" }) else { return String(cut) }
        return String(cut[..<q])
    }
}
