/// Mozilla's server-side TLS guideline 6.0 (ssl-config.mozilla.org/guidelines/6.0.json, published
/// 2026-04-06), the parts an nginx config needs. Copied here as constants: the product must not read
/// the JSON at run time. `Tests/Fixtures/mozilla/guidelines-6.0.json` is the published file, and
/// `MozillaGuidelineTests` checks these constants and the emitted configs against it.
///
/// 6.0 has two profiles, `modern` and `intermediate`; it removed `old`.
public enum MozillaGuideline {
    public static let version = "6.0"

    public struct Configuration: Sendable, Equatable {
        public let name: String
        /// `tls_versions`.
        public let protocols: [String]
        /// `ciphers.openssl`: TLS 1.2 suites (empty for TLS 1.3-only).
        public let ciphers: [String]
        /// `ciphersuites`: TLS 1.3, OpenSSL's default list, so nginx needs no directive for them.
        public let ciphersuites: [String]
        /// `tls_curves`, post-quantum hybrid first.
        public let groups: [String]
        /// `server_preferred_order`.
        public let serverPreferredOrder: Bool
        /// `hsts_min_age`.
        public let hstsMinAge: Int
    }

    static let tls13Suites = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    static let groups = ["X25519MLKEM768", "X25519", "prime256v1", "secp384r1"]

    public static let modern = Configuration(
        name: "modern", protocols: ["TLSv1.3"], ciphers: [], ciphersuites: tls13Suites, groups: groups,
        serverPreferredOrder: false, hstsMinAge: 63_072_000)

    public static let intermediate = Configuration(
        name: "intermediate", protocols: ["TLSv1.2", "TLSv1.3"],
        ciphers: [
            "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
        ],
        ciphersuites: tls13Suites, groups: groups, serverPreferredOrder: false, hstsMinAge: 63_072_000)

    /// The group that needs OpenSSL 3.5 (ML-KEM): an nginx on an older OpenSSL refuses to start
    /// with it in `ssl_ecdh_curve`, so it is left out there (as Mozilla's generator does).
    public static let postQuantumGroup = "X25519MLKEM768"
    public static let postQuantumOpenSSL = SoftwareVersion(3, 5, 0)

    /// The groups for an OpenSSL of `version`, in the guideline's order.
    public static func groups(_ configuration: Configuration, openSSL version: SoftwareVersion) -> [String] {
        configuration.groups.filter { $0 != postQuantumGroup || version >= postQuantumOpenSSL }
    }
}
