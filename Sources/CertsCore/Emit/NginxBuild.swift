/// A dotted version number ("1.22.1", "3.5"), compared numerically.
public struct SoftwareVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int, minor: Int, patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// "x.y" or "x.y.z" (a trailing letter, as in OpenSSL 1.1.1w, is ignored); nil otherwise.
    public init?(parsing text: String) {
        var t = Substring(text)
        while let last = t.last, last.isLetter { t.removeLast() }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) }
        guard (2...3).contains(parts.count), parts.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
        self.init(parts[0]!, parts[1]!, parts.count > 2 ? parts[2]! : 0)
    }

    public var description: String { "\(major).\(minor).\(patch)" }

    public static func < (a: SoftwareVersion, b: SoftwareVersion) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }
}

/// What `nginx -V` says about the binary: its version and the TLS library it runs with.
public struct NginxBuild: Sendable, Equatable {
    public var nginx: SoftwareVersion
    /// nil when nginx is built with another TLS library (LibreSSL, BoringSSL) or without one.
    public var openSSL: SoftwareVersion?

    public init(nginx: SoftwareVersion, openSSL: SoftwareVersion?) {
        self.nginx = nginx
        self.openSSL = openSSL
    }

    /// Parses `nginx -V` output (it goes to stderr; pass both streams). The OpenSSL that matters is
    /// the one nginx runs with: "built with OpenSSL 3.0.2 … (running with OpenSSL 3.0.13 …)" names both.
    public static func parse(_ text: String) -> NginxBuild? {
        var nginx: SoftwareVersion?
        var openSSL: SoftwareVersion?
        for line in text.split(separator: "\n") {
            if let r = line.firstRange(of: "nginx version: ") {
                // "nginx version: nginx/1.22.1" or "nginx version: nginx/1.27.4 (Ubuntu)"
                let rest = line[r.upperBound...]
                let afterSlash = rest.split(separator: "/", maxSplits: 1).dropFirst().first ?? rest
                nginx = afterSlash.split(separator: " ").first.flatMap { SoftwareVersion(parsing: String($0)) }
            } else if line.hasPrefix("built with ") {
                openSSL = Self.openSSLVersion(after: "built with OpenSSL ", in: line)
                if let running = Self.openSSLVersion(after: "running with OpenSSL ", in: line) { openSSL = running }
            }
        }
        guard let nginx else { return nil }
        return NginxBuild(nginx: nginx, openSSL: openSSL)
    }

    static func openSSLVersion(after marker: String, in line: Substring) -> SoftwareVersion? {
        guard let r = line.firstRange(of: marker) else { return nil }
        return line[r.upperBound...].split(separator: " ").first.flatMap { SoftwareVersion(parsing: String($0)) }
    }
}
