internal import COpenSSL

/// Encoding a `CertificateBuilder` profile into an `X509` and signing it.
extension CertificateBuilder {
    /// Signs with `signingKey` (the issuer's key, or the subject's own for self-signed).
    public func sign(with signingKey: PrivateKey) throws -> Certificate {
        let x = try ossl("allocating a certificate") { X509_new() }
        let cert = Certificate(owning: x)
        try osslCheck("setting the version") { X509_set_version(x, 2) }

        var serialBytes = serial ?? Self.randomSerial()
        if serialBytes.first.map({ $0 & 0x80 != 0 }) == true { serialBytes.insert(0, at: 0) }
        let bn = try ossl("encoding the serial") { BN_bin2bn(serialBytes, Int32(serialBytes.count), nil) }
        defer { BN_free(bn) }
        if negativeSerial { BN_set_negative(bn, 1) }
        let serialASN1 = try ossl("encoding the serial") { BN_to_ASN1_INTEGER(bn, nil) }
        defer { ASN1_INTEGER_free(serialASN1) }
        try osslCheck("setting the serial") { X509_set_serialNumber(x, serialASN1) }

        let subjectName = try subject.makeX509Name()
        defer { X509_NAME_free(subjectName) }
        try osslCheck("setting the subject") { X509_set_subject_name(x, subjectName) }
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? subjectName
        try osslCheck("setting the issuer") { X509_set_issuer_name(x, issuerName) }

        _ = try ossl("setting notBefore") { ASN1_TIME_set(X509_getm_notBefore(x), time_t(notBefore)) }
        _ = try ossl("setting notAfter") { ASN1_TIME_set(X509_getm_notAfter(x), time_t(notAfter)) }
        try osslCheck("setting the public key") { X509_set_pubkey(x, publicKey.pointer) }

        let issuerPointer = issuer?.pointer ?? x
        var overrides: [Int32: String] = [:]
        for (name, value) in extensionOverrides {
            let nid = OBJ_sn2nid(name)
            guard nid != NID_undef else { throw InputError.invalidValue(option: "extension", value: name, reason: "not an OpenSSL extension name") }
            overrides[nid] = value
        }
        func add(_ nid: Int32, _ profileValue: String) throws {
            let value = overrides.removeValue(forKey: nid) ?? profileValue
            guard !value.isEmpty else { return }
            let ext = try ossl("encoding extension \(String(cString: OBJ_nid2sn(nid)))") {
                certs_make_extension(issuerPointer, x, nil, nid, value)
            }
            defer { X509_EXTENSION_free(ext) }
            try osslCheck("adding an extension") { X509_add_ext(x, ext, -1) }
        }
        if isCA {
            try add(NID_basic_constraints, pathLength.map { "critical,CA:TRUE,pathlen:\($0)" } ?? "critical,CA:TRUE")
            try add(NID_key_usage, keyUsage ?? "critical,digitalSignature,keyCertSign,cRLSign")
        } else {
            try add(NID_basic_constraints, "critical,CA:FALSE")
            if let keyUsage { try add(NID_key_usage, keyUsage) }
        }
        if let extendedKeyUsage { try add(NID_ext_key_usage, extendedKeyUsage) }
        try add(NID_subject_key_identifier, "hash")
        if issuer != nil || !isCA { try add(NID_authority_key_identifier, "keyid:always") }
        if !subjectAlternativeNames.isEmpty {
            try add(NID_subject_alt_name, subjectAlternativeNames.map(\.description).joined(separator: ","))
        }
        for (nid, value) in overrides.sorted(by: { $0.key < $1.key }) { try add(nid, value) }
        for raw in rawExtensions {
            let object = try ossl("encoding the OID \(raw.oid)") { OBJ_txt2obj(raw.oid, 1) }
            defer { ASN1_OBJECT_free(object) }
            let value = try ossl("allocating an extension value") { ASN1_OCTET_STRING_new() }
            defer { ASN1_OCTET_STRING_free(value) }
            try osslCheck("setting an extension value") { ASN1_OCTET_STRING_set(value, raw.der, Int32(raw.der.count)) }
            let ext = try ossl("encoding extension \(raw.oid)") { X509_EXTENSION_create_by_OBJ(nil, object, raw.critical ? 1 : 0, value) }
            defer { X509_EXTENSION_free(ext) }
            try osslCheck("adding an extension") { X509_add_ext(x, ext, -1) }
        }

        let digest: OpaquePointer?
        if let digestName {
            digest = try ossl("finding digest \(digestName)") { EVP_get_digestbyname(digestName) }
        } else {
            digest = EVPKey.signingDigest(signingKey.pointer)
        }
        OpenSSLError.clear()
        guard X509_sign(x, signingKey.pointer, digest) > 0 else { throw OpenSSLError.drain("signing the certificate") }
        return cert
    }

    /// 16 random bytes, top bit clear: positive and unpredictable, as CAs must use (CA/B BR 7.1).
    static func randomSerial() -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        _ = RAND_bytes(&bytes, 16)
        bytes[0] &= 0x7f
        if bytes[0] == 0 { bytes[0] = 1 }
        return bytes
    }
}
