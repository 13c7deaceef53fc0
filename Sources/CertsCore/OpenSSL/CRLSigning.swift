#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

extension RevocationList {
    /// One revoked certificate of a CRL to sign.
    struct Entry {
        var serialHex: String
        var revokedAt: Int64
        /// RFC 5280 §5.3.1 CRLReason code; nil leaves the extension out (unspecified).
        var reasonCode: Int32?
    }

    /// A v2 CRL of `entries`, issued and signed by `issuer` with `key`: CRL number `number`,
    /// authority key identifier, reason codes (an entry without one is "unspecified"). DER, or
    /// PEM when `pem`.
    static func sign(entries: [Entry], issuer: Certificate, key: PrivateKey, thisUpdate now: Int64, nextUpdate due: Int64,
                     number crlNumber: Int64, pem: Bool) throws -> [UInt8] {
        let crl = try ossl("creating a CRL") { X509_CRL_new() }
        defer { X509_CRL_free(crl) }
        try osslCheck("setting the CRL version") { X509_CRL_set_version(crl, 1) }  // v2
        try osslCheck("setting the CRL issuer") { X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer.pointer)) }
        let thisUpdate = try ossl("encoding a time") { ASN1_TIME_set(nil, time_t(now)) }
        defer { ASN1_TIME_free(thisUpdate) }
        let nextUpdate = try ossl("encoding a time") { ASN1_TIME_set(nil, time_t(due)) }
        defer { ASN1_TIME_free(nextUpdate) }
        try osslCheck("setting thisUpdate") { X509_CRL_set1_lastUpdate(crl, thisUpdate) }
        try osslCheck("setting nextUpdate") { X509_CRL_set1_nextUpdate(crl, nextUpdate) }

        for entry in entries {
            let rev = try ossl("creating a CRL entry") { X509_REVOKED_new() }
            var owned = true
            defer { if owned { X509_REVOKED_free(rev) } }
            var bn: OpaquePointer? = nil
            guard BN_hex2bn(&bn, entry.serialHex) > 0, let bn else { throw OpenSSLError.drain("reading serial \(entry.serialHex)") }
            defer { BN_free(bn) }
            let serial = try ossl("encoding a serial") { BN_to_ASN1_INTEGER(bn, nil) }
            defer { ASN1_INTEGER_free(serial) }
            try osslCheck("setting the entry's serial") { X509_REVOKED_set_serialNumber(rev, serial) }
            let at = try ossl("encoding a time") { ASN1_TIME_set(nil, time_t(entry.revokedAt)) }
            defer { ASN1_TIME_free(at) }
            try osslCheck("setting the revocation date") { X509_REVOKED_set_revocationDate(rev, at) }
            if let code = entry.reasonCode {
                let e = try ossl("encoding a reason") { ASN1_ENUMERATED_new() }
                defer { ASN1_ENUMERATED_free(e) }
                try osslCheck("encoding a reason") { ASN1_ENUMERATED_set(e, Int(code)) }
                try osslCheck("adding the reason code") { X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, UnsafeMutableRawPointer(e), 0, 0) }
            }
            try osslCheck("adding a CRL entry") { X509_CRL_add0_revoked(crl, rev) }
            owned = false
        }
        try osslCheck("sorting the CRL") { X509_CRL_sort(crl) }

        let number = try ossl("encoding the CRL number") { ASN1_INTEGER_new() }
        defer { ASN1_INTEGER_free(number) }
        try osslCheck("encoding the CRL number") { ASN1_INTEGER_set_int64(number, crlNumber) }
        try osslCheck("adding the CRL number") { X509_CRL_add1_ext_i2d(crl, NID_crl_number, UnsafeMutableRawPointer(number), 0, 0) }
        let aki = try ossl("encoding the authority key identifier") {
            certs_make_crl_extension(issuer.pointer, crl, NID_authority_key_identifier, "keyid:always")
        }
        defer { X509_EXTENSION_free(aki) }
        try osslCheck("adding the authority key identifier") { X509_CRL_add_ext(crl, aki, -1) }

        OpenSSLError.clear()
        guard X509_CRL_sign(crl, key.pointer, EVPKey.signingDigest(key.pointer)) > 0 else {
            throw OpenSSLError.drain("signing the CRL")
        }
        return try pem ? serialize("encoding the CRL") { PEM_write_bio_X509_CRL($0, crl) }
                       : serialize("encoding the CRL") { i2d_X509_CRL_bio($0, crl) }
    }
}
