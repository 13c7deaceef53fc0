internal import COpenSSL

/// PKCS#12 (`.pfx`/`.p12`) archives for servers that want key and chain in one file (IIS,
/// Java keystores, some appliances).
public enum PKCS12Writer {
    /// DER PKCS#12 holding `key`, `certificate` and `chain`, protected by `passphrase`.
    ///
    /// Uses OpenSSL 3's defaults: key and certificates encrypted with AES-256-CBC (PBES2 with
    /// PBKDF2-HMAC-SHA256), integrity by an HMAC-SHA256 MAC, 2048 iterations each.
    /// `friendlyName` labels the key/certificate pair inside (Windows shows it).
    public static func archive(key: PrivateKey, certificate: Certificate, chain: [Certificate],
                               passphrase: Passphrase, friendlyName: String? = nil) throws -> [UInt8] {
        guard !passphrase.isEmpty else { throw PassphraseError.source("a PKCS#12 export needs a non-empty passphrase") }
        guard key.matches(certificate.publicKey) else {
            throw StoreError.keyMismatch(name: friendlyName ?? "certificate")
        }
        let stack = try ossl("allocating a certificate stack") { certs_sk_X509_new_null() }
        defer { certs_sk_X509_free(stack) }  // borrowed entries: the Certificates own them
        for c in chain {
            try osslCheck("adding a chain certificate") { certs_sk_X509_push(stack, c.pointer) }
        }
        // nid 0 = the library default (AES-256-CBC/PBKDF2 in OpenSSL 3), iter 0 and mac_iter 0 =
        // PKCS12_DEFAULT_ITER; keytype 0 = no MS key-usage attribute.
        let p12: OpaquePointer = try passphrase.withCString { pass in
            try ossl("creating the PKCS#12 archive") {
                PKCS12_create(pass.assumingMemoryBound(to: CChar.self), friendlyName, key.pointer, certificate.pointer,
                              stack, 0, 0, 0, 0, 0)
            }
        }
        defer { PKCS12_free(p12) }
        return try serialize("encoding the PKCS#12 archive") { i2d_PKCS12_bio($0, p12) }
    }
}
