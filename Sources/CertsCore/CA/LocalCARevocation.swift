#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

/// Revocation for the local CA: `certs ca revoke` records a certificate the intermediate issued in
/// `<ca>/revoked.txt` (one `SERIALHEX UNIXTIME REASON` line each), and `certs ca crl` signs a v2 CRL
/// of them with the intermediate's key (CRL number, authority key identifier, reason codes), to
/// serve at the URL `ca issue --crl-url` named.
public struct RevokedCertificate: Sendable, Equatable {
    public var serialHex: String
    public var revokedAt: Int64
    public var reason: String

    public init(serialHex: String, revokedAt: Int64, reason: String) {
        self.serialHex = serialHex
        self.revokedAt = revokedAt
        self.reason = reason
    }
}

extension LocalCA {
    /// RFC 5280 §5.3.1 reason names `ca revoke --reason` accepts, with their codes.
    public static let revocationReasons: [(name: String, code: Int32)] = [
        ("unspecified", 0), ("keyCompromise", 1), ("cACompromise", 2), ("affiliationChanged", 3), ("superseded", 4),
        ("cessationOfOperation", 5), ("certificateHold", 6), ("privilegeWithdrawn", 9),
    ]

    var revokedPath: String { "\(directory)/revoked.txt" }

    /// What this CA has revoked, oldest first.
    public func revoked() throws -> [RevokedCertificate] {
        guard FileSystem.exists(revokedPath) else { return [] }
        let text = String(decoding: try FileSystem.read(revokedPath, limit: 16 * 1024 * 1024), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 3, let at = Int64(f[1]) else { return nil }
            return RevokedCertificate(serialHex: String(f[0]), revokedAt: at, reason: String(f[2]))
        }
    }

    /// Records `certificate` as revoked at `now`. Only certificates this CA's intermediate issued;
    /// revoking one twice keeps the first record.
    @discardableResult
    public func revoke(_ certificate: Certificate, reason: String, now: Int64) throws -> RevokedCertificate {
        guard Self.revocationReasons.contains(where: { $0.name == reason }) else {
            throw InputError.invalidValue(option: "--reason", value: reason,
                                          reason: "one of " + Self.revocationReasons.map(\.name).joined(separator: ", "))
        }
        guard certificate.isIssued(by: intermediate) else { throw CAError.notIssuedHere(subject: certificate.subject.description) }
        var all = try revoked()
        if let existing = all.first(where: { $0.serialHex == certificate.serialHex }) { return existing }
        let entry = RevokedCertificate(serialHex: certificate.serialHex, revokedAt: now, reason: reason)
        all.append(entry)
        let text = all.map { "\($0.serialHex) \($0.revokedAt) \($0.reason)\n" }.joined()
        try FileSystem.writeAtomically(Array(text.utf8), to: revokedPath, mode: 0o644, existing: .replace)
        return entry
    }

    /// A CRL of every revoked certificate (DER, or PEM when `pem`), valid from `now` for `days`,
    /// numbered by `now` (monotonic for a CA that signs at most one CRL per second).
    public func crl(now: Int64, days: Int, pem: Bool = false) throws -> [UInt8] {
        let crl = try ossl("creating a CRL") { X509_CRL_new() }
        defer { X509_CRL_free(crl) }
        try osslCheck("setting the CRL version") { X509_CRL_set_version(crl, 1) }  // v2
        try osslCheck("setting the CRL issuer") { X509_CRL_set_issuer_name(crl, X509_get_subject_name(intermediate.pointer)) }
        let thisUpdate = try ossl("encoding a time") { ASN1_TIME_set(nil, time_t(now)) }
        defer { ASN1_TIME_free(thisUpdate) }
        let nextUpdate = try ossl("encoding a time") { ASN1_TIME_set(nil, time_t(now + Int64(days) * 86400)) }
        defer { ASN1_TIME_free(nextUpdate) }
        try osslCheck("setting thisUpdate") { X509_CRL_set1_lastUpdate(crl, thisUpdate) }
        try osslCheck("setting nextUpdate") { X509_CRL_set1_nextUpdate(crl, nextUpdate) }

        for entry in try revoked() {
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
            if let code = Self.revocationReasons.first(where: { $0.name == entry.reason })?.code, code != 0 {
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
        try osslCheck("encoding the CRL number") { ASN1_INTEGER_set_int64(number, now) }
        try osslCheck("adding the CRL number") { X509_CRL_add1_ext_i2d(crl, NID_crl_number, UnsafeMutableRawPointer(number), 0, 0) }
        let aki = try ossl("encoding the authority key identifier") {
            certs_make_crl_extension(intermediate.pointer, crl, NID_authority_key_identifier, "keyid:always")
        }
        defer { X509_EXTENSION_free(aki) }
        try osslCheck("adding the authority key identifier") { X509_CRL_add_ext(crl, aki, -1) }

        OpenSSLError.clear()
        guard X509_CRL_sign(crl, intermediateKey.pointer, EVPKey.signingDigest(intermediateKey.pointer)) > 0 else {
            throw OpenSSLError.drain("signing the CRL")
        }
        return try pem ? serialize("encoding the CRL") { PEM_write_bio_X509_CRL($0, crl) }
                       : serialize("encoding the CRL") { i2d_X509_CRL_bio($0, crl) }
    }
}
