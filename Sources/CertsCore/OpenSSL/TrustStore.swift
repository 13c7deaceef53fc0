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
    /// The hashed directories OpenSSL looks issuers up in (`SSL_CERT_DIR`), when it does.
    let directories: [String]
    /// The system bundle, when its certificates are parsed only as verifications look them up.
    let bundle: BundleLookup?
    /// The certificates `add` trusted besides (the local CA's root), for the fingerprint.
    private let added = Locked<[Certificate]>([])

    private init(pointer: OpaquePointer, certificates: [Certificate], origin: String, isSystem: Bool = false, directories: [String] = [],
                 bundle: BundleLookup? = nil) {
        self.pointer = pointer
        self.certificates = certificates
        self.origin = origin
        self.isSystem = isSystem
        self.directories = directories
        self.bundle = bundle
    }

    deinit { X509_STORE_free(pointer) }

    /// The system roots: OpenSSL's default bundle file (`SSL_CERT_FILE`, else /usr/lib/ssl/cert.pem
    /// = /etc/ssl/certs/ca-certificates.crt on Debian), read when the store is built and parsed
    /// only where verifications look (`BundleLookup`: the certificates with the subject names asked
    /// for, each once); a bundle of anything but plain CERTIFICATE blocks is parsed whole.
    ///
    /// Not `X509_STORE_set_default_paths`: its directory lookups run on every issuer lookup of every
    /// verification (OpenSSL 3's store lookup lists /etc/ssl/certs each time: three listings per
    /// certificate checked). The hashed directory (`SSL_CERT_DIR`, else /etc/ssl/certs) is consulted
    /// only when the user points `SSL_CERT_DIR` at one, or when there is no bundle file; it is then
    /// OpenSSL's hash_dir lookup, which opens `HASH.N` files and never lists the directory.
    public static func system() throws -> TrustStore {
        let fileEnv = X509_get_default_cert_file_env().map { String(cString: $0) } ?? "SSL_CERT_FILE"
        let dirEnv = X509_get_default_cert_dir_env().map { String(cString: $0) } ?? "SSL_CERT_DIR"
        let file = getenv(fileEnv).map { String(cString: $0) } ?? X509_get_default_cert_file().map { String(cString: $0) } ?? ""
        return try system(file: file, directory: getenv(dirEnv).map { String(cString: $0) })
    }

    /// The system store of bundle `file` and, when given, the hashed directories `directory`
    /// (colon-separated); without a readable bundle, OpenSSL's default directory. `parseWhole`:
    /// `X509_STORE_load_file` whatever the bundle holds (the tests' reference).
    static func system(file: String, directory explicitDir: String?, parseWhole: Bool = false) throws -> TrustStore {
        let store = try ossl("creating a trust store") { X509_STORE_new() }
        var loaded = false
        var directories: [String] = []
        var bundle: BundleLookup? = nil
        if !file.isEmpty, access(file, R_OK) == 0 {
            // Lenient like X509_STORE_set_default_paths: an unreadable bundle leaves the directory.
            if !parseWhole, let (bytes, identity) = BundleLookup.read(file), BundleLookup.accepts(bytes) {
                bundle = BundleLookup.install(bytes, identity: identity, in: store)
                loaded = bundle != nil
            }
            if !loaded { loaded = X509_STORE_load_file(store, file) == 1 }
        }
        if explicitDir != nil || !loaded {
            let dir = explicitDir ?? X509_get_default_cert_dir().map { String(cString: $0) } ?? ""
            if !dir.isEmpty {
                // A colon-separated list, as OpenSSL reads SSL_CERT_DIR; looked in after the bundle, as OpenSSL orders them.
                _ = X509_STORE_load_path(store, dir)
                directories = dir.split(separator: ":").map(String.init)
            }
        }
        OpenSSLError.clear()
        return TrustStore(pointer: store, certificates: [], origin: "the system trust store", isSystem: true, directories: directories, bundle: bundle)
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
        added.withValue { $0.append(certificate) }
    }

    /// True when `certificate` is one of the explicit trust anchors.
    public func contains(_ certificate: Certificate) -> Bool {
        certificates.contains(certificate)
    }

    public var description: String { origin }

    /// A digest of what this store can anchor: its origin; the system bundle file's identity (path,
    /// inode, size, modification and change times of the file its lookups read), else every certificate in the store
    /// (SHA-1 of the DER, which OpenSSL keeps for each); the certificates added besides; and for a
    /// hashed directory each entry's name, size and modification time (its certificates are read
    /// only when looked up). The same in every run with the same roots, whatever was looked up.
    public func fingerprint() -> [UInt8] {
        var parts: [[UInt8]] = []
        func sha1(_ x509: OpaquePointer) {
            var md = [UInt8](repeating: 0, count: 20)
            var n: UInt32 = 0
            if X509_digest(x509, EVP_sha1(), &md, &n) == 1 { parts.append(md) }
        }
        if let bundle {
            parts.append(Array("bundle ".utf8) + bundle.identity)
            for cert in added.current { sha1(cert.pointer) }
        } else {
            eachCertificate(sha1)
        }
        for dir in directories {
            for name in FileSystem.list(dir) {
                var st = stat()
                guard stat("\(dir)/\(name)", &st) == 0 else { continue }
                parts.append(Array("\(dir)/\(name) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)".utf8))
            }
        }
        var all = Array("\(origin)\n\(isSystem)\n".utf8)
        for p in parts.sorted(by: { $0.lexicographicallyPrecedes($1) }) { all += p + [0] }
        return Digest.sha256(all)
    }

    /// Every notBefore and notAfter of the certificates in the store now (the system bundle and a
    /// hashed directory add the ones looked up so far: every one a verification of this run could
    /// reach, since OpenSSL and `TrustLookup` find trust-store certificates by subject name only):
    /// the instants at which a verification against it can change.
    public func validityTimes() -> [Int64] {
        var out: [Int64] = []
        eachCertificate { x509 in
            out.append(Certificate.unixTime(X509_get0_notBefore(x509)))
            out.append(Certificate.unixTime(X509_get0_notAfter(x509)))
        }
        return out
    }

    private func eachCertificate(_ body: (OpaquePointer) -> Void) {
        _ = X509_STORE_lock(pointer)
        defer { _ = X509_STORE_unlock(pointer) }
        guard let objects = X509_STORE_get0_objects(pointer) else { return }
        for i in 0..<OPENSSL_sk_num(objects) {
            guard let object = OPENSSL_sk_value(objects, i), let x509 = X509_OBJECT_get0_X509(OpaquePointer(object)) else { continue }
            body(x509)
        }
    }
}
