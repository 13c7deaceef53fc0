internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// An owning wrapper over an `X509_STORE`: the roots a verification trusts.
///
/// Built once and shared by every verification in a run (loading the system store costs far more
/// than verifying one chain).
public final class TrustStore: @unchecked Sendable, CustomStringConvertible {
    let pointer: OpaquePointer  // X509_STORE
    /// The certificates given explicitly (`--trust`); empty for the system store.
    public let certificates: [Certificate]
    /// Where the roots came from, in words: "the system trust store", "--trust roots.pem".
    public let origin: String
    /// True for the system's roots (`--system`, the default): the Web PKI, where the CA/B Forum's
    /// rules are the browsers' rules. False for explicit anchors (`--trust`, the local CA), a
    /// private PKI, where some of them are only advice (docs/verification.md).
    public let isSystem: Bool

    private init(pointer: OpaquePointer, certificates: [Certificate], origin: String, isSystem: Bool = false) {
        self.pointer = pointer
        self.certificates = certificates
        self.origin = origin
        self.isSystem = isSystem
    }

    deinit { X509_STORE_free(pointer) }

    /// The system roots, loaded into memory once: OpenSSL's default bundle file (`SSL_CERT_FILE`,
    /// else /usr/lib/ssl/cert.pem = /etc/ssl/certs/ca-certificates.crt on Debian), parsed when the
    /// store is built.
    ///
    /// Not `X509_STORE_set_default_paths`: its directory lookups run on every issuer lookup of every
    /// verification (OpenSSL 3's store lookup lists /etc/ssl/certs each time: three listings per
    /// certificate checked). The hashed directory (`SSL_CERT_DIR`, else /etc/ssl/certs) is consulted
    /// only when the user points `SSL_CERT_DIR` at one, or when there is no bundle file; it is then
    /// OpenSSL's hash_dir lookup, which opens `HASH.N` files and never lists the directory.
    public static func system() throws -> TrustStore {
        let store = try ossl("creating a trust store") { X509_STORE_new() }
        let fileEnv = X509_get_default_cert_file_env().map { String(cString: $0) } ?? "SSL_CERT_FILE"
        let dirEnv = X509_get_default_cert_dir_env().map { String(cString: $0) } ?? "SSL_CERT_DIR"
        let file = getenv(fileEnv).map { String(cString: $0) } ?? X509_get_default_cert_file().map { String(cString: $0) } ?? ""
        let explicitDir = getenv(dirEnv).map { String(cString: $0) }
        var loaded = false
        if !file.isEmpty, access(file, R_OK) == 0 {
            // Lenient like X509_STORE_set_default_paths: an unreadable bundle leaves the directory.
            loaded = X509_STORE_load_file(store, file) == 1
        }
        if explicitDir != nil || !loaded {
            let dir = explicitDir ?? X509_get_default_cert_dir().map { String(cString: $0) } ?? ""
            if !dir.isEmpty {
                // A colon-separated list, as OpenSSL reads SSL_CERT_DIR.
                _ = X509_STORE_load_path(store, dir)
            }
        }
        OpenSSLError.clear()
        return TrustStore(pointer: store, certificates: [], origin: "the system trust store", isSystem: true)
    }

    /// The system roots, loaded once per process and shared read-only (OpenSSL locks the store
    /// internally): for clients that make many connections, such as each renewal's HTTP client.
    /// Never add certificates to it; `system()` gives a store of one's own.
    public static func sharedSystem() throws -> TrustStore {
        if let store = sharedSystemStore { return store }
        throw OpenSSLError.drain("creating the system trust store")
    }

    private static let sharedSystemStore: TrustStore? = try? TrustStore.system()

    /// Exactly these certificates (usually self-signed roots) and nothing else.
    public static func certificates(_ certificates: [Certificate], origin: String) throws -> TrustStore {
        let store = try ossl("creating a trust store") { X509_STORE_new() }
        let trust = TrustStore(pointer: store, certificates: certificates, origin: origin)
        for cert in certificates {
            try osslCheck("adding \(cert.subject) to the trust store") { X509_STORE_add_cert(store, cert.pointer) }
        }
        return trust
    }

    /// Trusts `certificate` too (the store's explicit anchors do not change).
    func add(_ certificate: Certificate) throws {
        try osslCheck("adding \(certificate.subject) to the trust store") { X509_STORE_add_cert(pointer, certificate.pointer) }
    }

    /// True when `certificate` is one of the explicit trust anchors.
    public func contains(_ certificate: Certificate) -> Bool {
        certificates.contains(certificate)
    }

    public var description: String { origin }
}
