internal import COpenSSL

/// An owning wrapper over an OpenSSL `X509` certificate. Immutable once made.
public final class Certificate: @unchecked Sendable, Equatable, CustomStringConvertible {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { X509_free(pointer) }

    /// Takes a new reference to a borrowed `X509 *`.
    init(borrowing pointer: OpaquePointer) {
        X509_up_ref(pointer)
        self.pointer = pointer
    }

    /// The certificates of a `STACK_OF(X509)`, in order, each with its own reference: the one
    /// stack-to-array loop. The stack stays the caller's (a `get1` stack is freed by the caller).
    static func all(in stack: OpaquePointer) -> [Certificate] {
        (0..<certs_sk_X509_num(stack)).compactMap { certs_sk_X509_value(stack, $0).map { Certificate(borrowing: $0) } }
    }

    /// Self-issued with matching key identifiers (OpenSSL's EXFLAG_SS): "is a root" without the
    /// cost of checking its own signature, which nothing relies on for a trust anchor anyway.
    var looksSelfSigned: Bool {
        X509_get_extension_flags(pointer) & UInt32(EXFLAG_SS) != 0
    }

    /// True when `issuer` issued this certificate: names and key identifiers chain and keyUsage
    /// allows signing (`X509_check_issued`), and the signature verifies with `issuer`'s key —
    /// `X509_check_issued` alone does not check the signature, so a look-alike would pass it.
    func isSignedBy(_ issuer: Certificate) -> Bool {
        guard isIssued(by: issuer) else { return false }
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        guard let key = X509_get0_pubkey(issuer.pointer) else { return false }
        return X509_verify(pointer, key) == 1
    }

    /// Every certificate in PEM, DER or PKCS#7 input, in file order.
    public static func parseAll(_ bytes: [UInt8], source: String = "input") throws -> [Certificate] {
        let document = try CryptoDocument(bytes: bytes, source: source)
        guard !document.certificates.isEmpty else {
            throw InputError.wrongContent(path: source, expected: "a certificate", found: document.contentDescription)
        }
        return document.certificates
    }

    /// Exactly one certificate's PEM block.
    static func parsePEM(_ block: [UInt8], source: String) throws -> Certificate {
        let bio = try MemoryBIO(block)
        OpenSSLError.clear()
        guard let x = PEM_read_bio_X509_AUX(bio.pointer, nil, certs_no_password_callback(), nil) else {
            let e = OpenSSLError.drain("reading a certificate")
            throw InputError.malformed(path: source, what: "certificate", detail: e.entries.last?.reason ?? "unreadable")
        }
        return Certificate(owning: x)
    }

    /// A DER certificate, nil unless the whole buffer is exactly one.
    static func parseDER(_ der: [UInt8]) -> Certificate? {
        CryptoDocument.decodeDER(der, { d2i_X509(nil, $0, $1) }, free: X509_free).map { Certificate(owning: $0) }
    }

    // MARK: Encodings

    public func der() throws -> [UInt8] {
        try serialize("encoding the certificate") { i2d_X509_bio($0, pointer) }
    }

    public func pem() throws -> [UInt8] {
        try serialize("encoding the certificate") { PEM_write_bio_X509($0, pointer) }
    }

    // MARK: Identity

    public var subject: DistinguishedName { DistinguishedName(borrowing: X509_get_subject_name(pointer)) }
    public var issuer: DistinguishedName { DistinguishedName(borrowing: X509_get_issuer_name(pointer)) }

    /// X.509 version as people count it (3 for v3).
    public var version: Int { Int(X509_get_version(pointer)) + 1 }

    /// Serial number as lower-case hex, without leading zero bytes.
    public var serialHex: String {
        guard let serial = X509_get0_serialNumber(pointer), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { certs_OPENSSL_free(hex) }
        var s = String(cString: hex).lowercased()
        if s.count % 2 == 1 { s = "0" + s }
        return s
    }

    public var notBefore: Int64 { Self.unixTime(X509_get0_notBefore(pointer)) }
    public var notAfter: Int64 { Self.unixTime(X509_get0_notAfter(pointer)) }

    static func unixTime(_ time: UnsafePointer<ASN1_TIME>?) -> Int64 {
        guard let time else { return 0 }
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return 0 }
        return RFC3339.daysFromCivil(Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday)) * 86400
            + Int64(parts.tm_hour) * 3600 + Int64(parts.tm_min) * 60 + Int64(parts.tm_sec)
    }

    /// Validity length in seconds.
    public var lifetime: Int64 { notAfter - notBefore }

    public var publicKey: PublicKey {
        // X509_get_pubkey returns a new reference, or NULL when the key bytes do not decode (a
        // corrupted certificate from the wire): then an empty key that matches nothing.
        PublicKey(owning: X509_get_pubkey(pointer) ?? EVP_PKEY_new())
    }

    /// False when OpenSSL cannot decode the certificate's public key (corrupted input).
    public var hasDecodablePublicKey: Bool {
        defer { OpenSSLError.clear() }
        return X509_get0_pubkey(pointer) != nil
    }

    /// The signature algorithm's name, e.g. "ecdsa-with-SHA256", "sha256WithRSAEncryption", "ED25519".
    public var signatureAlgorithm: String {
        let nid = X509_get_signature_nid(pointer)
        return OBJ_nid2ln(nid).map { String(cString: $0) } ?? "unknown"
    }

    /// The signature's digest ("SHA256", "SHA1"), nil for algorithms with none (EdDSA).
    public var signatureDigest: String? {
        var md: Int32 = 0, pk: Int32 = 0
        guard OBJ_find_sigid_algs(X509_get_signature_nid(pointer), &md, &pk) == 1, md != NID_undef else { return nil }
        return OBJ_nid2sn(md).map { String(cString: $0) }
    }

    public func fingerprint() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        X509_digest(pointer, EVP_sha256(), &out, &length)
        return Array(out.prefix(Int(length)))
    }

    // MARK: Extensions

    public var subjectAlternativeNames: [GeneralName] {
        Self.generalNames(X509_get_ext_d2i(pointer, NID_subject_alt_name, nil, nil))
    }

    static func generalNames(_ raw: UnsafeMutableRawPointer?) -> [GeneralName] {
        guard let raw else { return [] }
        let names = OpaquePointer(raw)
        defer { GENERAL_NAMES_free(names) }
        var out: [GeneralName] = []
        for i in 0..<certs_sk_GENERAL_NAME_num(names) {
            if let g = certs_sk_GENERAL_NAME_value(names, i) { out.append(GeneralName(g)) }
        }
        return out
    }

    public var subjectKeyIdentifier: [UInt8]? {
        guard let ski = X509_get0_subject_key_id(pointer) else { return nil }
        return ASN1Text.bytes(ski)
    }

    public var authorityKeyIdentifier: [UInt8]? {
        guard let raw = X509_get_ext_d2i(pointer, NID_authority_key_identifier, nil, nil) else { return nil }
        let akid = raw.assumingMemoryBound(to: AUTHORITY_KEYID.self)
        defer { AUTHORITY_KEYID_free(akid) }
        guard let keyid = certs_AUTHORITY_KEYID_keyid(akid) else { return nil }
        return ASN1Text.bytes(keyid)
    }

    /// basicConstraints, when present: CA flag and path length limit.
    public var basicConstraints: (isCA: Bool, pathLength: Int?)? {
        guard let raw = X509_get_ext_d2i(pointer, NID_basic_constraints, nil, nil) else { return nil }
        let bc = raw.assumingMemoryBound(to: BASIC_CONSTRAINTS.self)
        defer { BASIC_CONSTRAINTS_free(bc) }
        let pl = certs_BASIC_CONSTRAINTS_pathlen(bc)
        return (certs_BASIC_CONSTRAINTS_ca(bc) == 1, pl >= 0 ? Int(pl) : nil)
    }

    public var isCA: Bool { basicConstraints?.isCA ?? false }

    /// keyUsage bit names in RFC 5280 order, nil when the extension is absent.
    public var keyUsage: [String]? {
        guard X509_get_ext_by_NID(pointer, NID_key_usage, -1) >= 0 else { return nil }
        let bits = X509_get_key_usage(pointer)
        let names: [(UInt32, String)] = [
            (UInt32(KU_DIGITAL_SIGNATURE), "digitalSignature"), (UInt32(KU_NON_REPUDIATION), "contentCommitment"),
            (UInt32(KU_KEY_ENCIPHERMENT), "keyEncipherment"), (UInt32(KU_DATA_ENCIPHERMENT), "dataEncipherment"),
            (UInt32(KU_KEY_AGREEMENT), "keyAgreement"), (UInt32(KU_KEY_CERT_SIGN), "keyCertSign"),
            (UInt32(KU_CRL_SIGN), "cRLSign"), (UInt32(KU_ENCIPHER_ONLY), "encipherOnly"), (UInt32(KU_DECIPHER_ONLY), "decipherOnly"),
        ]
        return names.filter { bits & $0.0 != 0 }.map(\.1)
    }

    /// extendedKeyUsage purposes by short name ("serverAuth"), nil when absent.
    public var extendedKeyUsage: [String]? {
        guard let raw = X509_get_ext_d2i(pointer, NID_ext_key_usage, nil, nil) else { return nil }
        let stack = OpaquePointer(raw)
        defer { EXTENDED_KEY_USAGE_free(stack) }
        var out: [String] = []
        for i in 0..<certs_sk_ASN1_OBJECT_num(stack) {
            out.append(ObjectName.short(certs_sk_ASN1_OBJECT_value(stack, i)))
        }
        return out
    }

    /// authorityInfoAccess URLs: OCSP responders and CA issuer certificate locations.
    public var authorityInfoAccess: (ocsp: [String], caIssuers: [String]) {
        guard let raw = X509_get_ext_d2i(pointer, NID_info_access, nil, nil) else { return ([], []) }
        let aia = OpaquePointer(raw)
        defer { AUTHORITY_INFO_ACCESS_free(aia) }
        var ocsp: [String] = [], issuers: [String] = []
        for i in 0..<certs_sk_ACCESS_DESCRIPTION_num(aia) {
            guard let ad = certs_sk_ACCESS_DESCRIPTION_value(aia, i), let loc = certs_ACCESS_DESCRIPTION_location(ad) else { continue }
            let name = GeneralName(loc)
            switch OBJ_obj2nid(certs_ACCESS_DESCRIPTION_method(ad)) {
            case NID_ad_OCSP: ocsp.append(name.value)
            case NID_ad_ca_issuers: issuers.append(name.value)
            default: break
            }
        }
        return (ocsp, issuers)
    }

    /// Subject and issuer are the same name.
    public var isSelfIssued: Bool {
        X509_NAME_cmp(X509_get_subject_name(pointer), X509_get_issuer_name(pointer)) == 0
    }

    /// Self-issued and its signature verifies with its own key.
    public var isSelfSigned: Bool {
        guard isSelfIssued else { return false }
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        return X509_verify(pointer, X509_get0_pubkey(pointer)) == 1
    }

    /// True when `issuer`'s key signed this certificate and the names chain.
    public func isIssued(by issuer: Certificate) -> Bool {
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        return X509_check_issued(issuer.pointer, pointer) == X509_V_OK
    }

    public static func == (a: Certificate, b: Certificate) -> Bool { X509_cmp(a.pointer, b.pointer) == 0 }

    public var description: String { "Certificate(\(subject))" }
}
