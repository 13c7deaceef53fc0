internal import COpenSSL

/// An owning wrapper over an `X509_CRL` (RFC 5280 §5): who issued it, when it is next due, whom it
/// revokes, and whether a given issuer signed it.
public final class RevocationList: @unchecked Sendable {
    private let pointer: OpaquePointer  // X509_CRL

    /// Parses DER, or PEM (`-----BEGIN X509 CRL-----`), through `CryptoDocument`'s reader.
    public init(bytes: [UInt8], source: String) throws {
        guard let crl = CryptoDocument.revocationList(bytes) else { throw RevocationError.notACRL(source: source) }
        pointer = crl
    }

    deinit { X509_CRL_free(pointer) }

    public var thisUpdate: Int64 { Certificate.unixTime(X509_CRL_get0_lastUpdate(pointer)) }
    /// nil when the CRL names no next update (allowed, but then it never goes stale).
    public var nextUpdate: Int64? { X509_CRL_get0_nextUpdate(pointer).map { Certificate.unixTime($0) } }

    /// The CRL's issuer is `issuer`'s subject and `issuer`'s key verifies its signature.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(pointer), X509_get_subject_name(issuer.pointer)) == 0,
              let key = X509_get0_pubkey(issuer.pointer) else { return false }
        OpenSSLError.clear()
        defer { OpenSSLError.clear() }
        return X509_CRL_verify(pointer, key) == 1
    }

    /// When and why `certificate` was revoked; nil when this CRL does not list it.
    public func revocation(of certificate: Certificate) -> (date: Int64, reason: String?)? {
        var entry: OpaquePointer? = nil
        guard X509_CRL_get0_by_cert(pointer, &entry, certificate.pointer) == 1, let entry else { return nil }
        let date = Certificate.unixTime(X509_REVOKED_get0_revocationDate(entry))
        var reason: String?
        var critical: Int32 = 0
        if let raw = X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, &critical, nil) {
            let code = raw.assumingMemoryBound(to: ASN1_ENUMERATED.self)
            reason = Self.reasonName(ASN1_ENUMERATED_get(code))
            ASN1_ENUMERATED_free(code)
        }
        OpenSSLError.clear()
        return (date, reason)
    }

    /// RFC 5280 §5.3.1 CRLReason names.
    static func reasonName(_ code: Int) -> String {
        let names = ["unspecified", "keyCompromise", "cACompromise", "affiliationChanged", "superseded",
                     "cessationOfOperation", "certificateHold", "", "removeFromCRL", "privilegeWithdrawn", "aACompromise"]
        return code >= 0 && code < names.count && !names[code].isEmpty ? names[code] : "reason \(code)"
    }
}

extension Certificate {
    /// The URIs of the crlDistributionPoints extension (fullName form), in order.
    public var crlDistributionPoints: [String] {
        guard let raw = X509_get_ext_d2i(pointer, NID_crl_distribution_points, nil, nil) else { return [] }
        let points = OpaquePointer(raw)
        defer { certs_CRL_DIST_POINTS_free(points) }
        var out: [String] = []
        for i in 0..<certs_sk_DIST_POINT_num(points) {
            guard let names = certs_DIST_POINT_fullname(certs_sk_DIST_POINT_value(points, i)) else { continue }
            for j in 0..<certs_sk_GENERAL_NAME_num(names) {
                guard let n = certs_sk_GENERAL_NAME_value(names, j) else { continue }
                let name = GeneralName(n)
                if case .uri(let uri) = name { out.append(uri) }
            }
        }
        return out
    }
}
