import COpenSSL

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

    /// OpenSSL's default locations (`X509_STORE_set_default_paths`: /etc/ssl/certs on Debian).
    public static func system() throws -> TrustStore {
        let store = try ossl("creating a trust store") { X509_STORE_new() }
        do {
            try osslCheck("loading the system trust store") { X509_STORE_set_default_paths(store) }
        } catch {
            X509_STORE_free(store)
            throw error
        }
        return TrustStore(pointer: store, certificates: [], origin: "the system trust store", isSystem: true)
    }

    /// Exactly these certificates (usually self-signed roots) and nothing else.
    public static func certificates(_ certificates: [Certificate], origin: String) throws -> TrustStore {
        let store = try ossl("creating a trust store") { X509_STORE_new() }
        let trust = TrustStore(pointer: store, certificates: certificates, origin: origin)
        for cert in certificates {
            try osslCheck("adding \(cert.subject) to the trust store") { X509_STORE_add_cert(store, cert.pointer) }
        }
        return trust
    }

    /// True when `certificate` is one of the explicit trust anchors.
    public func contains(_ certificate: Certificate) -> Bool {
        certificates.contains(certificate)
    }

    public var description: String { origin }
}
