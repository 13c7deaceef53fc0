internal import COpenSSL

/// Finds trust-store certificates by subject name through OpenSSL's store lookup, so a store that
/// also reads a hashed directory (`SSL_CERT_DIR`) is searched the same way verification searches it.
final class TrustLookup {
    private let context: OpaquePointer  // X509_STORE_CTX
    private let trust: TrustStore
    private var cache: [String: [Certificate]] = [:]

    init(trust: TrustStore, leaf: Certificate) throws {
        self.trust = trust
        context = try ossl("creating a verification context") { X509_STORE_CTX_new() }
        guard X509_STORE_CTX_init(context, trust.pointer, leaf.pointer, nil) == 1 else {
            X509_STORE_CTX_free(context)
            throw OpenSSLError.drain("starting a trust-store lookup")
        }
    }

    deinit { X509_STORE_CTX_free(context) }

    /// Trusted certificates whose subject is `child`'s issuer name.
    func issuers(of child: Certificate, key: String) -> [Certificate] {
        let name = X509_get_issuer_name(child.pointer)
        if let known = cache[key] { return known.isEmpty ? known : known.filter { child.namesAsIssuer($0) } }
        var found: [Certificate] = []
        OpenSSLError.clear()
        if let stack = X509_STORE_CTX_get1_certs(context, name) {
            found = Certificate.all(in: stack)
            certs_sk_X509_pop_free(stack)
        }
        OpenSSLError.clear()  // "no certificate found" is an answer, not an error
        if cache.count < 256 { cache[key] = found }
        return found
    }
}
