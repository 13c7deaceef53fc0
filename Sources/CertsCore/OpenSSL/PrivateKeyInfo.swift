internal import COpenSSL

/// PKCS#8 `PrivateKeyInfo` DER (RFC 5208; RFC 5915 for EC, RFC 8410 for Ed25519) of a key certs has
/// just generated, written from the key's own parameters.
///
/// Why not OpenSSL's encoder: in OpenSSL 3.0 `PEM_write_bio_PKCS8PrivateKey` and
/// `i2d_PKCS8PrivateKey_bio` go through `OSSL_ENCODER_CTX_new_for_pkey`, which lists every encoder of
/// every provider on each call: 3.5M of `key new`'s instructions (callgrind), more than generating a
/// P-256 key. Only fresh keys take this path: OpenSSL's defaults are then known (named curve,
/// uncompressed point, public key included), so the bytes are exactly OpenSSL's (KeyTests compares
/// them over a thousand keys); a key read from a file keeps OpenSSL's encoder and whatever form it
/// came in. RSA keeps OpenSSL's encoder too: its key generation dwarfs the encoding.
///
/// The secret is written straight into the one output buffer, which is sized exactly beforehand so
/// it never grows (a grown array leaves a copy in freed memory); no other buffer ever holds it.
enum PrivateKeyInfo {
    /// The DER, or nil for key types (or key states) this does not write: the caller then uses OpenSSL.
    static func der(_ pkey: OpaquePointer, generated type: KeyType) -> [UInt8]? {
        switch type {
        case .ecP256: return ec(pkey, curve: prime256v1, size: 32)
        case .ecP384: return ec(pkey, curve: secp384r1, size: 48)
        case .ed25519: return ed25519(pkey)
        case .rsa2048, .rsa3072, .rsa4096: return nil
        }
    }

    /// id-ecPublicKey (1.2.840.10045.2.1).
    static let ecPublicKey: [UInt8] = [0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]
    /// prime256v1 (1.2.840.10045.3.1.7).
    static let prime256v1: [UInt8] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]
    /// secp384r1 (1.3.132.0.34).
    static let secp384r1: [UInt8] = [0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22]
    /// id-Ed25519 (1.3.101.112).
    static let ed25519OID: [UInt8] = [0x06, 0x03, 0x2B, 0x65, 0x70]
    static let versionZero: [UInt8] = [0x02, 0x01, 0x00]
    static let versionOne: [UInt8] = [0x02, 0x01, 0x01]

    /// PrivateKeyInfo { 0, { id-ecPublicKey, curve }, OCTET STRING ECPrivateKey { 1, d, [1] point } }.
    /// OpenSSL leaves the curve out of the ECPrivateKey inside PKCS#8 (it is in the
    /// AlgorithmIdentifier) and pads d to the order's length (RFC 5915 §3).
    static func ec(_ pkey: OpaquePointer, curve: [UInt8], size: Int) -> [UInt8]? {
        let pointSize = 2 * size + 1
        let bitString = DER.size(1 + pointSize)
        let ecPrivateKeyContent = versionOne.count + DER.size(size) + DER.size(bitString)
        let algorithm = ecPublicKey.count + curve.count
        let content = versionZero.count + DER.size(algorithm) + DER.size(DER.size(ecPrivateKeyContent))
        var out = DER(capacity: DER.size(content))
        out.header(0x30, content)
        out.append(versionZero)
        out.header(0x30, algorithm)
        out.append(ecPublicKey)
        out.append(curve)
        out.header(0x04, DER.size(ecPrivateKeyContent))
        out.header(0x30, ecPrivateKeyContent)
        out.append(versionOne)
        out.header(0x04, size)
        let scalar = out.reserve(size)
        out.header(0xA1, bitString)
        out.header(0x03, 1 + pointSize)
        out.append([0])  // no unused bits
        let point = out.reserve(pointSize)
        return out.finish { bytes in
            // OSSL_PARAM integers are native-endian; OpenSSL pads "priv" to the order's byte length.
            var params = [
                OSSL_PARAM_construct_BN(cName("priv"), bytes.baseAddress! + scalar.lowerBound, size),
                OSSL_PARAM_construct_octet_string(cName("pub"), bytes.baseAddress! + point.lowerBound, pointSize),
                OSSL_PARAM_construct_end(),
            ]
            guard EVP_PKEY_get_params(pkey, &params) == 1,
                  params[0].return_size == size, params[1].return_size == pointSize,
                  bytes[point.lowerBound] == 0x04 else { return false }  // uncompressed
            #if _endian(little)
            bytes[scalar].reverse()
            #endif
            return true
        }
    }

    /// PrivateKeyInfo { 0, { id-Ed25519 }, OCTET STRING { OCTET STRING seed } } (RFC 8410 §7; OpenSSL
    /// 3.0 writes version 0 without the public key).
    static func ed25519(_ pkey: OpaquePointer) -> [UInt8]? {
        let content = versionZero.count + DER.size(ed25519OID.count) + DER.size(DER.size(32))
        var out = DER(capacity: DER.size(content))
        out.header(0x30, content)
        out.append(versionZero)
        out.header(0x30, ed25519OID.count)
        out.append(ed25519OID)
        out.header(0x04, DER.size(32))
        out.header(0x04, 32)
        let seed = out.reserve(32)
        return out.finish { bytes in
            var length = seed.count
            return EVP_PKEY_get_raw_private_key(pkey, bytes.baseAddress! + seed.lowerBound, &length) == 1 && length == seed.count
        }
    }

    /// A parameter name for `OSSL_PARAM`, which keeps the pointer: static storage, not a Swift
    /// string's temporary C copy.
    static func cName(_ name: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// An exactly sized DER buffer written front to back; secret fields are reserved as zeros and
    /// filled in place by `finish`.
    struct DER {
        private var bytes: [UInt8]
        private var count = 0

        init(capacity: Int) { bytes = [UInt8](repeating: 0, count: capacity) }

        /// The encoded size of a TLV whose content is `length` bytes (definite length).
        static func size(_ length: Int) -> Int { 1 + lengthOfLength(length) + length }

        private static func lengthOfLength(_ length: Int) -> Int {
            length < 0x80 ? 1 : 1 + (Int.bitWidth - length.leadingZeroBitCount + 7) / 8
        }

        mutating func header(_ tag: UInt8, _ length: Int) {
            put(tag)
            let extra = Self.lengthOfLength(length) - 1
            guard extra > 0 else { return put(UInt8(length)) }
            put(0x80 | UInt8(extra))
            for shift in stride(from: 8 * (extra - 1), through: 0, by: -8) { put(UInt8(truncatingIfNeeded: length >> shift)) }
        }

        mutating func append(_ part: [UInt8]) {
            for byte in part { put(byte) }
        }

        /// In place: the array was made at its full size and never grows.
        private mutating func put(_ byte: UInt8) {
            bytes[count] = byte
            count += 1
        }

        mutating func reserve(_ length: Int) -> Range<Int> {
            defer { count += length }
            return count..<count + length
        }

        /// The bytes once `fill` has written the reserved fields, or nil (and the buffer wiped) when
        /// it could not.
        mutating func finish(_ fill: (inout UnsafeMutableBufferPointer<UInt8>) -> Bool) -> [UInt8]? {
            precondition(count == bytes.count, "PKCS#8 layout and size disagree")
            let filled = bytes.withUnsafeMutableBufferPointer { fill(&$0) }
            guard filled else {
                OPENSSL_cleanse(&bytes, bytes.count)
                return nil
            }
            return bytes
        }
    }
}
