internal import COpenSSL

/// The digests a signature in certs can use (JWS ES256/RS256 and ES384).
enum SignatureDigest: Sendable {
    case sha256, sha384

    fileprivate var evp: OpaquePointer? { self == .sha384 ? EVP_sha384() : EVP_sha256() }
}

/// Public-key parameters a JWK needs (RFC 7518 §6), by OpenSSL's parameter name.
enum PublicKeyParameter: Sendable {
    case ecX, ecY, rsaE, rsaN

    fileprivate var name: String {
        switch self {
        case .ecX: return OSSL_PKEY_PARAM_EC_PUB_X
        case .ecY: return OSSL_PKEY_PARAM_EC_PUB_Y
        case .rsaE: return OSSL_PKEY_PARAM_RSA_E
        case .rsaN: return OSSL_PKEY_PARAM_RSA_N
        }
    }
}

extension PrivateKey {
    /// A signature over `input` (`EVP_DigestSign`): DER `ECDSA-Sig-Value` for EC keys, PKCS#1 v1.5
    /// for RSA. `what` names it in errors ("JWS": "signing the JWS").
    func sign(_ input: [UInt8], digest: SignatureDigest, what: String) throws -> [UInt8] {
        let ctx = try ossl("creating a signing context") { EVP_MD_CTX_new() }
        defer { EVP_MD_CTX_free(ctx) }
        try osslCheck("starting the \(what) signature") { EVP_DigestSignInit(ctx, nil, digest.evp, nil, pointer) }
        var length = 0
        try osslCheck("sizing the \(what) signature") {
            input.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &length, $0.baseAddress, $0.count) }
        }
        var der = [UInt8](repeating: 0, count: length)
        try osslCheck("signing the \(what)") {
            input.withUnsafeBufferPointer { EVP_DigestSign(ctx, &der, &length, $0.baseAddress, $0.count) }
        }
        der.removeSubrange(length...)
        return der
    }

    /// One big-number parameter of the public key, big-endian, left-padded to `width` bytes (nil:
    /// its own length).
    func publicParameter(_ parameter: PublicKeyParameter, width: Int?) throws -> [UInt8] {
        let name = parameter.name
        var bn: OpaquePointer? = nil
        try osslCheck("reading the public key parameter \(name)") { EVP_PKEY_get_bn_param(pointer, name, &bn) }
        guard let bn else { throw OpenSSLError.drain("reading \(name)") }
        defer { BN_free(bn) }
        let width = width ?? Int((BN_num_bits(bn) + 7) / 8)
        var out = [UInt8](repeating: 0, count: width)
        guard BN_bn2binpad(bn, &out, Int32(width)) == Int32(width) else { throw OpenSSLError.drain("encoding \(name)") }
        return out
    }
}

enum ECDSASignature {
    /// DER `ECDSA-Sig-Value` → fixed-width r||s, each `size` bytes (RFC 7518 §3.4).
    static func rawConcatenation(der: [UInt8], size: Int) throws -> [UInt8] {
        let sig = try der.withUnsafeBufferPointer { buf -> OpaquePointer in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return try ossl("reading the ECDSA signature") { d2i_ECDSA_SIG(nil, &p, buf.count) }
        }
        defer { ECDSA_SIG_free(sig) }
        var r: OpaquePointer? = nil, s: OpaquePointer? = nil
        ECDSA_SIG_get0(sig, &r, &s)
        var out = [UInt8](repeating: 0, count: size * 2)
        guard let r, let s,
              BN_bn2binpad(r, &out, Int32(size)) == Int32(size),
              out.withUnsafeMutableBufferPointer({ BN_bn2binpad(s, $0.baseAddress! + size, Int32(size)) }) == Int32(size) else {
            throw OpenSSLError.drain("encoding the ECDSA signature")
        }
        return out
    }
}

extension Digest {
    /// HMAC-SHA256 (`EVP_Q_mac`).
    static func hmacSHA256(key: [UInt8], data: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 0
        OpenSSLError.clear()
        let ok = key.withUnsafeBufferPointer { k in
            data.withUnsafeBufferPointer { d in
                EVP_Q_mac(nil, "HMAC", nil, "SHA256", nil, k.baseAddress, k.count, d.baseAddress, d.count, &out, out.count, &length)
            }
        }
        guard ok != nil, length == 32 else { throw OpenSSLError.drain("computing HMAC-SHA256") }
        return out
    }
}
