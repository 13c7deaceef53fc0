/// A TCP endpoint as users write it: `example.com:443`, `192.0.2.1:8443`, `[::1]:443`, or with a
/// scheme: `smtp://mail.example.com` (STARTTLS on 25), `postgres://db:5432`, `imaps://host`.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    /// Host name or IP address, without brackets.
    public let host: String
    public let port: UInt16
    /// The plaintext dialogue that precedes TLS (`smtp://`, `postgres://`…); nil: TLS at once.
    public var startTLS: StartTLSProtocol? = nil

    public init(host: String, port: UInt16, startTLS: StartTLSProtocol? = nil) {
        self.host = host
        self.port = port
        self.startTLS = startTLS
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT`, or a bare host / IPv6 address (then `defaultPort`),
    /// each optionally after `SCHEME://` (see `EndpointScheme`), which sets the default port
    /// and whether a STARTTLS dialogue comes first. A path after the authority is ignored.
    public init(parsing text: String, defaultPort: UInt16? = 443, option: String = "--connect") throws {
        func fail(_ why: String) -> InputError { .invalidValue(option: option, value: text, reason: why) }
        var t = text.trimmingSpaces
        guard !t.isEmpty else { throw fail("empty; use HOST:PORT") }
        var defaultPort = defaultPort
        if let colon = t.firstIndex(of: ":"), t[colon...].hasPrefix("://") {
            let name = String(t[..<colon]).lowercased()
            guard let scheme = EndpointScheme.named(name) else {
                throw fail("unknown scheme '\(name)://'; use HOST:PORT for TLS, or one of \(EndpointScheme.all.map { $0.name + "://" }.joined(separator: ", "))")
            }
            t = String(t[colon...].dropFirst(3))
            if let slash = t.firstIndex(of: "/") { t = String(t[..<slash]) }
            guard !t.isEmpty else { throw fail("no host after '\(name)://'") }
            defaultPort = scheme.port
            self.startTLS = scheme.startTLS
        }
        var host: String
        var portText: String?
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { throw fail("missing ']' after the IPv6 address") }
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw fail("expected ':PORT' after ']'") }
                portText = String(rest.dropFirst())
            }
            guard IPAddress.parse(host) != nil, host.contains(":") else { throw fail("'\(host)' in brackets is not an IPv6 address") }
        } else if t.filter({ $0 == ":" }).count > 1 {
            // A bare IPv6 address: no port possible without brackets.
            guard IPAddress.parse(t) != nil else { throw fail("write an IPv6 address with a port as [ADDRESS]:PORT") }
            host = t
        } else if let colon = t.lastIndex(of: ":") {
            host = String(t[..<colon])
            portText = String(t[t.index(after: colon)...])
        } else {
            host = t
        }
        guard !host.isEmpty else { throw fail("no host before the port") }
        if IPAddress.parse(host) == nil {
            host = try HostName.validate(host)
            if host.hasPrefix("*") { throw fail("a wildcard is not a host to connect to") }
        }
        let port: UInt16
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw fail("the port must be a number from 1 to 65535") }
            port = p
        } else {
            guard let defaultPort else { throw fail("add the port: HOST:PORT") }
            port = defaultPort
        }
        self.host = host
        self.port = port
    }

    /// True when `host` is an IPv4 or IPv6 literal (no DNS, and no SNI by default).
    public var isIPAddress: Bool { IPAddress.parse(host) != nil }

    /// `host:port`, with brackets around IPv6 addresses; `smtp://host:port` with STARTTLS.
    public var description: String {
        let address = Self.format(host: host, port: port)
        guard let startTLS else { return address }
        return "\(startTLS.scheme)://\(address)"
    }

    static func format(host: String, port: UInt16) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
