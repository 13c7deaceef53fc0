internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSL's path validation (`X509_verify_cert` over an `X509_STORE_CTX`) for `ChainVerifier`:
/// the policy, the findings and the choice between paths stay in Verify/ChainVerifier.swift.
extension ChainVerifier {
    // MARK: OpenSSL path validation

    /// One error `X509_verify_cert` reported, at `depth` (0: the leaf).
    struct RawIssue {
        let code: Int32
        let depth: Int
        let certificate: Certificate?

        /// What the error code means, in the groups the findings distinguish.
        enum Kind {
            case expired, notYetValid, invalidValidity, nameMismatch, unknownIssuer, selfSignedLeaf,
                 untrustedRoot, invalidPurpose, invalidCA, pathLength, badSignature, nameConstraints,
                 revoked, rejected, other
        }

        var kind: Kind {
            switch code {
            case X509_V_ERR_CERT_HAS_EXPIRED: return .expired
            case X509_V_ERR_CERT_NOT_YET_VALID: return .notYetValid
            case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return .invalidValidity
            case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: return .nameMismatch
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return .unknownIssuer
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return .selfSignedLeaf
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return .untrustedRoot
            case X509_V_ERR_INVALID_PURPOSE: return .invalidPurpose
            case X509_V_ERR_INVALID_CA, X509_V_ERR_KEYUSAGE_NO_CERTSIGN: return .invalidCA
            case X509_V_ERR_PATH_LENGTH_EXCEEDED: return .pathLength
            case X509_V_ERR_CERT_SIGNATURE_FAILURE: return .badSignature
            case X509_V_ERR_PERMITTED_VIOLATION, X509_V_ERR_EXCLUDED_VIOLATION, X509_V_ERR_SUBTREE_MINMAX,
                 X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE, X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX, X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
                return .nameConstraints
            case X509_V_ERR_CERT_REVOKED: return .revoked
            case X509_V_ERR_CERT_UNTRUSTED, X509_V_ERR_CERT_REJECTED: return .rejected
            default: return .other
            }
        }

        /// OpenSSL's words for the code (`X509_verify_cert_error_string`).
        var text: String { X509_verify_cert_error_string(Int(code)).map { String(cString: $0) } ?? "error \(code)" }
    }

    final class IssueCollector {
        var issues: [RawIssue] = []
    }

    struct PathResult {
        let chain: [Certificate]
        let issues: [RawIssue]
    }

    /// Runs `X509_verify_cert`, collecting every error (the callback lets it carry on) and the
    /// chain it built, leaf first.
    func buildPath(leaf: Certificate, untrusted: [Certificate]) throws -> PathResult {
        try buildPath(leaf: leaf, untrusted: untrusted, store: trust, partialChain: false)
    }

    /// The same against `store`; `partialChain` lets a trusted certificate that is not self-signed
    /// end the path (X509_V_FLAG_PARTIAL_CHAIN).
    func buildPath(leaf: Certificate, untrusted: [Certificate], store: TrustStore, partialChain: Bool) throws -> PathResult {
        let ctx = try ossl("creating a verification context") { X509_STORE_CTX_new() }
        defer { X509_STORE_CTX_free(ctx) }
        let stack = try ossl("allocating a certificate list") { certs_sk_X509_new_null() }
        defer { certs_sk_X509_free(stack) }  // borrowed entries: the array keeps them alive
        for c in untrusted { _ = certs_sk_X509_push(stack, c.pointer) }
        try osslCheck("starting verification") { X509_STORE_CTX_init(ctx, store.pointer, leaf.pointer, stack) }

        let param = X509_STORE_CTX_get0_param(ctx)
        try osslCheck("choosing the TLS server purpose") { X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) }
        X509_VERIFY_PARAM_set_time(param, time_t(time))
        if partialChain { X509_VERIFY_PARAM_set_flags(param, UInt(X509_V_FLAG_PARTIAL_CHAIN)) }
        if let host {
            if IPAddress.parse(host) != nil {
                try osslCheck("setting the IP address to match") { X509_VERIFY_PARAM_set1_ip_asc(param, host) }
            } else {
                X509_VERIFY_PARAM_set_hostflags(param, UInt32(X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
                try osslCheck("setting the host name to match") { X509_VERIFY_PARAM_set1_host(param, host, host.utf8.count) }
            }
        }

        let collector = IssueCollector()
        try osslCheck("attaching the verification callback") {
            X509_STORE_CTX_set_ex_data(ctx, 0, Unmanaged.passUnretained(collector).toOpaque())
        }
        X509_STORE_CTX_set_verify_cb(ctx) { ok, ctx in
            guard ok == 0, let ctx, let raw = X509_STORE_CTX_get_ex_data(ctx, 0) else { return ok }
            let collector = Unmanaged<ChainVerifier.IssueCollector>.fromOpaque(raw).takeUnretainedValue()
            let cert = X509_STORE_CTX_get_current_cert(ctx).map { Certificate(borrowing: $0) }
            collector.issues.append(RawIssue(code: X509_STORE_CTX_get_error(ctx), depth: Int(X509_STORE_CTX_get_error_depth(ctx)), certificate: cert))
            return 1  // keep going: report every problem, not only the first
        }
        OpenSSLError.clear()
        let result = withExtendedLifetime((collector, untrusted)) { X509_verify_cert(ctx) }
        if result < 0 {
            // A certificate whose key does not decode (corrupted input) ends OpenSSL's path building
            // with an internal error: say which one it is. (Not checked up front: decoding every
            // leaf's key would cost more than verifying the chain.)
            if let bad = ([leaf] + untrusted).first(where: { !$0.hasDecodablePublicKey }) {
                OpenSSLError.clear()
                throw InputError.malformed(path: "certificate \"\(bad.subject)\"", what: "certificate", detail: "its public key cannot be decoded")
            }
            throw OpenSSLError.drain("verifying the chain")
        }
        OpenSSLError.clear()

        var chain: [Certificate] = []
        if let built = X509_STORE_CTX_get1_chain(ctx) {
            chain = Certificate.all(in: built)
            certs_sk_X509_pop_free(built)
        }
        if result == 0 && collector.issues.isEmpty {
            // Failed without telling the callback (should not happen): report it anyway.
            collector.issues.append(RawIssue(code: X509_STORE_CTX_get_error(ctx), depth: Int(X509_STORE_CTX_get_error_depth(ctx)), certificate: nil))
        }
        return PathResult(chain: chain, issues: collector.issues)
    }
}
