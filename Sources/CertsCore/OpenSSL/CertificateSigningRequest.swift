internal import COpenSSL

/// An owning wrapper over an OpenSSL PKCS#10 request (`X509_REQ`).
public final class CertificateSigningRequest: @unchecked Sendable, CustomStringConvertible {
    private let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_REQ_free(pointer) }

    /// A new CSR for `subject` and `subjectAlternativeNames`, signed by `key`.
    ///
    /// SANs go in an extensionRequest attribute (what every CA and ACME server reads); the
    /// signature is SHA-256 (SHA-384 for P-384 keys, none for Ed25519, which hashes internally).
    public static func create(key: PrivateKey, subject: DistinguishedName, subjectAlternativeNames: [GeneralName]) throws -> CertificateSigningRequest {
        let req = try ossl("allocating a CSR") { X509_REQ_new() }
        let csr = CertificateSigningRequest(owning: req)
        try osslCheck("setting the CSR version") { X509_REQ_set_version(req, 0) }
        let name = try subject.makeX509Name()
        defer { X509_NAME_free(name) }
        try osslCheck("setting the CSR subject") { X509_REQ_set_subject_name(req, name) }
        try osslCheck("setting the CSR public key") { X509_REQ_set_pubkey(req, key.pointer) }
        if !subjectAlternativeNames.isEmpty {
            let exts = try ossl("allocating extensions") { certs_sk_X509_EXTENSION_new_null() }
            defer { certs_sk_X509_EXTENSION_pop_free(exts) }
            let value = subjectAlternativeNames.map(\.description).joined(separator: ",")
            let ext = try ossl("encoding subjectAltName") { certs_make_extension(nil, nil, req, NID_subject_alt_name, value) }
            _ = certs_sk_X509_EXTENSION_push(exts, ext)
            try osslCheck("adding the extension request") { X509_REQ_add_extensions(req, exts) }
        }
        OpenSSLError.clear()
        guard X509_REQ_sign(req, key.pointer, EVPKey.signingDigest(key.pointer)) > 0 else {
            throw OpenSSLError.drain("signing the CSR")
        }
        return csr
    }

    static func parsePEM(_ block: [UInt8], source: String) throws -> CertificateSigningRequest {
        let bio = try MemoryBIO(block)
        OpenSSLError.clear()
        guard let r = PEM_read_bio_X509_REQ(bio.pointer, nil, certs_no_password_callback(), nil) else {
            let e = OpenSSLError.drain("reading a CSR")
            throw InputError.malformed(path: source, what: "certificate signing request", detail: e.entries.last?.reason ?? "unreadable")
        }
        return CertificateSigningRequest(owning: r)
    }

    static func parseDER(_ der: [UInt8]) -> CertificateSigningRequest? {
        CryptoDocument.decodeDER(der, { d2i_X509_REQ(nil, $0, $1) }, free: X509_REQ_free).map { CertificateSigningRequest(owning: $0) }
    }

    public func pem() throws -> [UInt8] {
        try serialize("encoding the CSR") { PEM_write_bio_X509_REQ($0, pointer) }
    }

    public func der() throws -> [UInt8] {
        try serialize("encoding the CSR") { i2d_X509_REQ_bio($0, pointer) }
    }

    public var subject: DistinguishedName { DistinguishedName(borrowing: X509_REQ_get_subject_name(pointer)) }

    public var publicKey: PublicKey? {
        X509_REQ_get_pubkey(pointer).map { PublicKey(owning: $0) }
    }

    public var subjectAlternativeNames: [GeneralName] {
        guard let exts = X509_REQ_get_extensions(pointer) else { return [] }
        defer { certs_sk_X509_EXTENSION_pop_free(exts) }
        for i in 0..<certs_sk_X509_EXTENSION_num(exts) {
            guard let ext = certs_sk_X509_EXTENSION_value(exts, i),
                  OBJ_obj2nid(X509_EXTENSION_get_object(ext)) == NID_subject_alt_name else { continue }
            return Certificate.generalNames(X509V3_EXT_d2i(ext))
        }
        return []
    }

    public var signatureAlgorithm: String {
        OBJ_nid2ln(X509_REQ_get_signature_nid(pointer)).map { String(cString: $0) } ?? "unknown"
    }

    /// The request's self-signature verifies with its own public key (`openssl req -verify`).
    public var signatureIsValid: Bool {
        guard let key = X509_REQ_get0_pubkey(pointer) else { return false }
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        return X509_REQ_verify(pointer, key) == 1
    }

    public var description: String { "CertificateSigningRequest(\(subject))" }
}
