internal import COpenSSL

/// Cheap, allocation-free comparisons path building runs many times per chain.
extension Certificate {
    /// The identity of the underlying `X509` (two wrappers of one certificate object share it):
    /// a dictionary key for memoizing per certificate while the certificates stay alive.
    struct Identity: Hashable {
        fileprivate let object: OpaquePointer
    }

    var identity: Identity { Identity(object: pointer) }

    /// This certificate's issuer name is `candidate`'s subject name (`X509_NAME_cmp`).
    func namesAsIssuer(_ candidate: Certificate) -> Bool {
        X509_NAME_cmp(X509_get_issuer_name(pointer), X509_get_subject_name(candidate.pointer)) == 0
    }

    /// This certificate's authorityKeyIdentifier equals `candidate`'s subjectKeyIdentifier, or one
    /// of them is absent.
    func keyIdentifiersAllow(issuer candidate: Certificate) -> Bool {
        guard let aki = X509_get0_authority_key_id(pointer), let ski = X509_get0_subject_key_id(candidate.pointer) else { return true }
        return ASN1_OCTET_STRING_cmp(aki, ski) == 0
    }

    /// `issuer`'s public key verifies this certificate's signature (names are not compared).
    func signatureVerifies(with issuer: Certificate) -> Bool {
        OpenSSLError.clear()
        let ok = X509_get0_pubkey(issuer.pointer).map { X509_verify(pointer, $0) == 1 } ?? false
        OpenSSLError.clear()
        return ok
    }

    /// The DER SubjectPublicKeyInfo; empty when the key does not decode.
    var publicKeyInfoDER: [UInt8] {
        guard let key = X509_get0_pubkey(pointer) else { return [] }
        var out: UnsafeMutablePointer<UInt8>? = nil
        let n = i2d_PUBKEY(key, &out)
        defer { certs_OPENSSL_free(out) }
        guard n > 0, let out else { return [] }
        return Array(UnsafeBufferPointer(start: out, count: Int(n)))
    }
}
