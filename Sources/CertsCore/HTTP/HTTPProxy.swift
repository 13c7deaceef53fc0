#if canImport(Glibc)
import Glibc
#endif

/// An outbound HTTP proxy (`http://[user:pass@]host:port`), as curl reads HTTPS_PROXY/HTTP_PROXY.
/// The credentials become a Proxy-Authorization header and appear in no message: `description`
/// is host and port only.
public struct HTTPProxy: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    /// "Basic …" when the URL carries user:pass.
    let authorization: String?

    public init(parsing text: String, variable: String) throws {
        func fail(_ why: String) -> HTTPError { .invalidURL(url: "$\(variable)", reason: why) }
        var rest = Substring(text.trimmingSpaces)
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst(7) }
        else if rest.lowercased().hasPrefix("https://") { throw fail("HTTPS proxies are not supported; give an http:// proxy (https traffic goes through it with CONNECT)") }
        else if rest.contains("://") { throw fail("only http:// proxies are supported") }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var auth: String? = nil
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            guard let user = Self.percentDecode(String(userinfo)) else { throw fail("the user:password part is not valid percent-encoding") }
            auth = "Basic " + Base64.encode(user)
        }
        let url = try HTTPURL("http://" + rest + "/")  // host and port checks; no credentials inside
        host = url.host
        port = rest.contains(":") && !(rest.hasPrefix("[") && rest.hasSuffix("]")) ? url.port : 1080
        authorization = auth
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func percentDecode(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        var bytes = Array(s.utf8)[...]
        while let b = bytes.first {
            bytes = bytes.dropFirst()
            if b == 0x25 {
                guard bytes.count >= 2, let v = UInt8(String(decoding: bytes.prefix(2), as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                bytes = bytes.dropFirst(2)
            } else {
                out.append(b)
            }
        }
        return out
    }
}

/// Which proxy, if any, a URL goes through: HTTPS_PROXY for https, HTTP_PROXY for http (the
/// lower-case names first, as curl), unless NO_PROXY excludes the host. As curl does, loopback
/// is not excluded by itself: put 127.0.0.1,localhost in NO_PROXY for that.
public struct ProxyConfiguration: Sendable, Equatable {
    public var https: HTTPProxy?
    public var http: HTTPProxy?
    /// NO_PROXY entries, lower-cased, without a leading dot; "*" excludes everything.
    public var noProxy: [String]

    public init(https: HTTPProxy? = nil, http: HTTPProxy? = nil, noProxy: [String] = []) {
        self.https = https
        self.http = http
        self.noProxy = noProxy
    }

    public static let none = ProxyConfiguration()

    /// From environment variables (`lookup` returns a variable's value, nil when unset).
    public init(environment lookup: (String) -> String?) throws {
        func value(_ name: String) -> (String, String)? {
            for n in [name.lowercased(), name] { if let v = lookup(n), !v.trimmingSpaces.isEmpty { return (n, v) } }
            return nil
        }
        https = try value("HTTPS_PROXY").map { try HTTPProxy(parsing: $0.1, variable: $0.0) }
        http = try value("HTTP_PROXY").map { try HTTPProxy(parsing: $0.1, variable: $0.0) }
        noProxy = (value("NO_PROXY")?.1 ?? "").split(separator: ",").map { entry in
            var e = entry.trimmingSpaces.lowercased()
            if e.hasPrefix("[") , let close = e.firstIndex(of: "]") { e = String(e[e.index(after: e.startIndex)..<close]) }
            else if e.filter({ $0 == ":" }).count == 1, let colon = e.firstIndex(of: ":") { e = String(e[..<colon]) }  // host:port
            while e.hasPrefix(".") { e.removeFirst() }
            if e.hasPrefix("*.") { e.removeFirst(2) }
            return e
        }.filter { !$0.isEmpty }
    }

    /// The process's own environment (what every `HTTPClient` uses unless told otherwise).
    public static func processEnvironment() throws -> ProxyConfiguration {
        try ProxyConfiguration { name in getenv(name).map { String(cString: $0) } }
    }

    /// The proxy for `url`, nil to connect directly.
    public func proxy(for url: HTTPURL) -> HTTPProxy? {
        guard let proxy = url.isHTTPS ? https : http else { return nil }
        return excludes(url.host) ? nil : proxy
    }

    /// NO_PROXY: "*", the host itself, or a domain it is under (example.com covers a.example.com).
    public func excludes(_ host: String) -> Bool {
        let h = host.lowercased()
        return noProxy.contains { $0 == "*" || h == $0 || (IPAddress.parse(h) == nil && h.hasSuffix("." + $0)) }
    }
}
