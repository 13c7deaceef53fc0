#if canImport(Glibc)
import Glibc
#endif
internal import COpenSSL

/// One OCSP exchange (RFC 6960) for a leaf and its issuer: the request (with a nonce), and the
/// verdict read from the responder's answer. Owning wrapper: the request and the certificate ID
/// are freed with it; OpenSSL pointers never leave this file.
final class OCSPQuery {
    private let request: OpaquePointer
    /// A copy of the ID inside the request, to find our answer in the response.
    private let id: OpaquePointer
    let issuer: Certificate

    init(leaf: Certificate, issuer: Certificate) throws {
        self.issuer = issuer
        let certID = try ossl("building the OCSP certificate ID") { OCSP_cert_to_id(nil, leaf.pointer, issuer.pointer) }
        guard let copy = OCSP_CERTID_dup(certID) else {
            OCSP_CERTID_free(certID)
            throw OpenSSLError.drain("building the OCSP certificate ID")
        }
        guard let req = OCSP_REQUEST_new() else {
            OCSP_CERTID_free(certID); OCSP_CERTID_free(copy)
            throw OpenSSLError.drain("building the OCSP request")
        }
        guard OCSP_request_add0_id(req, certID) != nil else {  // the request owns certID now, on success
            OCSP_CERTID_free(certID); OCSP_CERTID_free(copy); OCSP_REQUEST_free(req)
            throw OpenSSLError.drain("building the OCSP request")
        }
        request = req
        id = copy
        try osslCheck("adding the OCSP nonce") { OCSP_request_add1_nonce(req, nil, -1) }
    }

    deinit {
        OCSP_CERTID_free(id)
        OCSP_REQUEST_free(request)
    }

    /// The DER request for an HTTP POST (`application/ocsp-request`).
    func der() throws -> [UInt8] {
        let n = i2d_OCSP_REQUEST(request, nil)
        guard n > 0 else { throw OpenSSLError.drain("encoding the OCSP request") }
        var out = [UInt8](repeating: 0, count: Int(n))
        _ = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            return i2d_OCSP_REQUEST(request, &p)
        }
        return out
    }

    enum Answer: Equatable {
        case good(thisUpdate: Int64, nextUpdate: Int64?)
        case revoked(at: Int64, reason: String?, nextUpdate: Int64?)
        case unknown
    }

    struct Refused: Error { let reason: String }

    /// Reads the responder's DER answer: successful, signed by the issuer or a responder it
    /// authorised (id-kp-OCSPSigning), our nonce echoed when the responder echoes one, and an
    /// entry for our certificate. `now` judges the signer's certificate.
    func answer(_ bytes: [UInt8], now: Int64) throws -> Answer {
        guard let response = CryptoDocument.ocspResponse(bytes) else { throw Refused(reason: "the answer is not an OCSP response") }
        defer { OCSP_RESPONSE_free(response) }
        let status = OCSP_response_status(response)
        guard status == OCSP_RESPONSE_STATUS_SUCCESSFUL else {
            throw Refused(reason: "the responder answered \(String(cString: OCSP_response_status_str(Int(status))))")
        }
        guard let basic = OCSP_response_get1_basic(response) else { throw Refused(reason: "the OCSP response has no basic response") }
        defer { OCSP_BASICRESP_free(basic) }
        // 1: our nonce came back; -1: the responder sends none (common, allowed); anything else is a mismatch.
        let nonce = OCSP_check_nonce(request, basic)
        guard nonce == 1 || nonce == -1 else { throw Refused(reason: "the OCSP response does not answer our request (nonce mismatch)") }

        let store = try ossl("creating the OCSP trust store") { X509_STORE_new() }
        defer { X509_STORE_free(store) }
        X509_STORE_add_cert(store, issuer.pointer)
        let param = X509_STORE_get0_param(store)
        X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        X509_VERIFY_PARAM_set_time(param, time_t(now))
        let others = try ossl("creating a certificate stack") { certs_sk_X509_new_null() }
        defer { certs_sk_X509_free(others) }
        _ = certs_sk_X509_push(others, issuer.pointer)
        guard OCSP_basic_verify(basic, others, store, 0) == 1 else {
            ERR_clear_error()
            throw Refused(reason: "the OCSP response is not signed by the certificate's issuer or a responder it authorised (\(issuer.subject))")
        }

        var certStatus: Int32 = -1, reason: Int32 = -1
        var revoked: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>? = nil
        var thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>? = nil
        var nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>? = nil
        guard OCSP_resp_find_status(basic, id, &certStatus, &reason, &revoked, &thisUpdate, &nextUpdate) == 1 else {
            throw Refused(reason: "the OCSP response has no entry for this certificate")
        }
        func time(_ t: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?) -> Int64? { t.map { Certificate.unixTime(UnsafePointer($0)) } }
        switch certStatus {
        case V_OCSP_CERTSTATUS_GOOD:
            return .good(thisUpdate: time(thisUpdate) ?? 0, nextUpdate: time(nextUpdate))
        case V_OCSP_CERTSTATUS_REVOKED:
            return .revoked(at: time(revoked) ?? 0, reason: reason >= 0 ? RevocationList.reasonName(Int(reason)) : nil, nextUpdate: time(nextUpdate))
        default:
            return .unknown
        }
    }
}
