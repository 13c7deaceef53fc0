internal import COpenSSL

/// Shared read-only views of an `EVP_PKEY`, for private and public keys alike.
enum EVPKey {
    static func algorithm(_ pkey: OpaquePointer) -> KeyAlgorithm {
        let bits = Int(EVP_PKEY_get_bits(pkey))
        switch EVP_PKEY_get_base_id(pkey) {
        case EVP_PKEY_RSA, EVP_PKEY_RSA_PSS: return .rsa(bits: bits)
        case EVP_PKEY_EC: return .ec(curve: curveName(pkey) ?? "unknown curve", bits: bits)
        case EVP_PKEY_ED25519: return .ed25519
        case EVP_PKEY_ED448: return .ed448
        default:
            let name = EVP_PKEY_get0_type_name(pkey).map { String(cString: $0) } ?? "unknown"
            return .other(name: name, bits: bits)
        }
    }

    static func curveName(_ pkey: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 80)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &length) == 1 else { return nil }
        let sn = String(cBuffer: buffer)
        let nid = OBJ_sn2nid(sn)
        if nid != NID_undef, let nist = EC_curve_nid2nist(nid) { return String(cString: nist) }
        return sn
    }

    /// DER SubjectPublicKeyInfo.
    static func publicKeyDER(_ pkey: OpaquePointer) throws -> [UInt8] {
        try serialize("encoding the public key") { i2d_PUBKEY_bio($0, pkey) }
    }

    /// The digest a signature by this key should use: nil where the algorithm fixes it (EdDSA).
    static func signingDigest(_ pkey: OpaquePointer) -> OpaquePointer? {
        switch algorithm(pkey) {
        case .ed25519, .ed448: return nil
        case .ec(let curve, _) where curve == "P-384": return EVP_sha384()
        case .ec(let curve, _) where curve == "P-521": return EVP_sha512()
        default: return EVP_sha256()
        }
    }
}

/// An owning wrapper over an OpenSSL private key (`EVP_PKEY`).
///
/// Its secret never leaves through `description`; only `pem`/`der` encoders, which callers
/// write to 0600 files, expose it.
public final class PrivateKey: @unchecked Sendable, CustomStringConvertible {
    let pointer: OpaquePointer
    /// The type `generate` made this key as; nil for a key read from bytes, whose form only
    /// OpenSSL's encoder keeps.
    let generated: KeyType?

    init(owning pointer: OpaquePointer, generated: KeyType? = nil) { (self.pointer, self.generated) = (pointer, generated) }
    deinit { EVP_PKEY_free(pointer) }

    /// A new key of `type`, from OpenSSL's default random generator.
    public static func generate(_ type: KeyType) throws -> PrivateKey {
        let name: String
        switch type {
        case .ecP256, .ecP384: name = "EC"
        case .rsa2048, .rsa3072, .rsa4096: name = "RSA"
        case .ed25519: name = "ED25519"
        }
        let ctx = try ossl("creating a \(type) key generator") { EVP_PKEY_CTX_new_from_name(nil, name, nil) }
        defer { EVP_PKEY_CTX_free(ctx) }
        try osslCheck("starting \(type) key generation") { EVP_PKEY_keygen_init(ctx) }
        switch type {
        case .ecP256: try osslCheck("choosing curve P-256") { EVP_PKEY_CTX_set_group_name(ctx, "P-256") }
        case .ecP384: try osslCheck("choosing curve P-384") { EVP_PKEY_CTX_set_group_name(ctx, "P-384") }
        case .rsa2048: try osslCheck("choosing RSA size") { EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) }
        case .rsa3072: try osslCheck("choosing RSA size") { EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 3072) }
        case .rsa4096: try osslCheck("choosing RSA size") { EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 4096) }
        case .ed25519: break
        }
        var key: OpaquePointer? = nil
        try osslCheck("generating a \(type) key") { EVP_PKEY_generate(ctx, &key) }
        return PrivateKey(owning: key!, generated: type)
    }

    /// Parses a private key from PEM (PKCS#8, encrypted PKCS#8, or the traditional RSA/EC forms)
    /// or DER, detected automatically. `source` names the input in errors.
    public convenience init(bytes: [UInt8], passphrase: Passphrase? = nil, source: String = "input") throws {
        let document = try CryptoDocument(bytes: bytes, source: source, passphrase: passphrase)
        guard let key = document.privateKeys.first else {
            throw InputError.wrongContent(path: source, expected: "a private key", found: document.contentDescription)
        }
        self.init(owning: key.retainedPointer())
    }

    /// Parses one PEM private key block (the text of a single `-----BEGIN … PRIVATE KEY-----`).
    static func parsePEM(_ block: [UInt8], passphrase: Passphrase?, source: String) throws -> PrivateKey {
        let bio = try MemoryBIO(block)
        OpenSSLError.clear()
        let key: OpaquePointer?
        if let passphrase {
            key = passphrase.withCString { PEM_read_bio_PrivateKey(bio.pointer, nil, nil, $0) }
        } else {
            key = PEM_read_bio_PrivateKey(bio.pointer, nil, certs_no_password_callback(), nil)
        }
        guard let key else { throw keyReadError(source: source, encrypted: isEncryptedPEM(block), passphrase: passphrase) }
        return PrivateKey(owning: key)
    }

    /// Parses a DER private key: PKCS#8 (plain or encrypted) or the traditional RSA/EC forms.
    static func parseDER(_ der: [UInt8], passphrase: Passphrase?, source: String) -> PrivateKey? {
        OpenSSLError.clear()
        var key: OpaquePointer? = der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            return d2i_AutoPrivateKey(nil, &p, buf.count)
        }
        if key == nil, let passphrase, let bio = try? MemoryBIO(der) {
            OpenSSLError.clear()
            key = passphrase.withCString { d2i_PKCS8PrivateKey_bio(bio.pointer, nil, nil, $0) }
        }
        return key.map { PrivateKey(owning: $0) }
    }

    /// Whether a DER blob is an encrypted PKCS#8 key (an `X509_SIG`).
    static func isEncryptedDER(_ der: [UInt8]) -> Bool {
        der.withUnsafeBufferPointer { buf in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let sig = d2i_X509_SIG(nil, &p, buf.count) else { return false }
            X509_SIG_free(sig)
            return p == buf.baseAddress.map { $0 + buf.count }
        }
    }

    static func isEncryptedPEM(_ block: [UInt8]) -> Bool {
        let text = String(decoding: block.prefix(200), as: UTF8.self)
        return text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED")
    }

    static func keyReadError(source: String, encrypted: Bool, passphrase: Passphrase?) -> Error {
        let error = OpenSSLError.drain("reading the private key")
        if encrypted {
            if passphrase == nil { return PassphraseError.required(path: source) }
            return PassphraseError.wrong(path: source)
        }
        if passphrase != nil, error.mentions("bad decrypt", "wrong password", "maybe wrong password") {
            return PassphraseError.wrong(path: source)
        }
        return InputError.malformed(path: source, what: "private key", detail: error.entries.last?.reason ?? "unreadable")
    }

    func retainedPointer() -> OpaquePointer {
        EVP_PKEY_up_ref(pointer)
        return pointer
    }

    public var algorithm: KeyAlgorithm { EVPKey.algorithm(pointer) }

    /// The public half, as its own value.
    public var publicKey: PublicKey { PublicKey(owning: retainedPointer()) }

    /// PKCS#8 PEM; encrypted with AES-256-CBC (PBES2, PBKDF2-HMAC-SHA256) when a passphrase is given.
    public func pem(passphrase: Passphrase? = nil) throws -> [UInt8] {
        guard passphrase == nil, var der = ownDER() else { return try opensslPEM(passphrase: passphrase) }
        defer { OPENSSL_cleanse(&der, der.count) }
        return try serialize("encoding the private key") { PEM_write_bio($0, "PRIVATE KEY", "", der, der.count) }
    }

    /// PKCS#8 DER (unencrypted, or encrypted like `pem(passphrase:)`).
    public func der(passphrase: Passphrase? = nil) throws -> [UInt8] {
        guard passphrase == nil, let der = ownDER() else { return try opensslDER(passphrase: passphrase) }
        return der
    }

    /// The unencrypted PKCS#8 DER certs writes itself, for a key it generated (`PrivateKeyInfo`).
    func ownDER() -> [UInt8]? { generated.flatMap { PrivateKeyInfo.der(pointer, generated: $0) } }

    /// `pem(passphrase:)` through OpenSSL's encoder.
    func opensslPEM(passphrase: Passphrase? = nil) throws -> [UInt8] {
        try serialize("encoding the private key") { bio in
            if let passphrase {
                return passphrase.withCString { p in
                    PEM_write_bio_PKCS8PrivateKey(bio, pointer, EVP_aes_256_cbc(), nil, 0, nil, p)
                }
            }
            return PEM_write_bio_PKCS8PrivateKey(bio, pointer, nil, nil, 0, nil, nil)
        }
    }

    /// `der(passphrase:)` through OpenSSL's encoder.
    func opensslDER(passphrase: Passphrase? = nil) throws -> [UInt8] {
        try serialize("encoding the private key") { bio in
            if let passphrase {
                return passphrase.withCString { p in
                    i2d_PKCS8PrivateKey_bio(bio, pointer, EVP_aes_256_cbc(), nil, 0, nil, p)
                }
            }
            return i2d_PKCS8PrivateKey_bio(bio, pointer, nil, nil, 0, nil, nil)
        }
    }

    /// True when `publicKey` is this key's public half.
    public func matches(_ publicKey: PublicKey) -> Bool {
        EVP_PKEY_eq(pointer, publicKey.pointer) == 1
    }

    /// Runs OpenSSL's consistency check on the key pair (`openssl pkey -check`).
    public func check() -> Bool {
        guard let ctx = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else { return false }
        defer { EVP_PKEY_CTX_free(ctx) }
        OpenSSLError.clear()
        return EVP_PKEY_check(ctx) == 1
    }

    public var description: String { "PrivateKey(\(algorithm))" }
}

/// An owning wrapper over a public key (`EVP_PKEY` without the private half, or a view of one).
public final class PublicKey: @unchecked Sendable, CustomStringConvertible, Equatable {
    let pointer: OpaquePointer

    init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }

    /// Parses a PEM `PUBLIC KEY` or DER SubjectPublicKeyInfo.
    static func parse(pem: [UInt8]) -> PublicKey? {
        guard let bio = try? MemoryBIO(pem) else { return nil }
        OpenSSLError.clear()
        return PEM_read_bio_PUBKEY(bio.pointer, nil, certs_no_password_callback(), nil).map { PublicKey(owning: $0) }
    }

    static func parse(der: [UInt8]) -> PublicKey? {
        OpenSSLError.clear()
        return der.withUnsafeBufferPointer { buf -> PublicKey? in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let k = d2i_PUBKEY(nil, &p, buf.count) else { return nil }
            guard p == buf.baseAddress.map({ $0 + buf.count }) else { EVP_PKEY_free(k); return nil }
            return PublicKey(owning: k)
        }
    }

    public var algorithm: KeyAlgorithm { EVPKey.algorithm(pointer) }

    /// DER SubjectPublicKeyInfo.
    public func der() throws -> [UInt8] { try EVPKey.publicKeyDER(pointer) }

    public func pem() throws -> [UInt8] {
        try serialize("encoding the public key") { PEM_write_bio_PUBKEY($0, pointer) }
    }

    /// SHA-256 of the SubjectPublicKeyInfo: the value HPKP-style pins and `certs` use to match keys.
    public func sha256() throws -> [UInt8] { Digest.sha256(try der()) }

    public static func == (a: PublicKey, b: PublicKey) -> Bool { EVP_PKEY_eq(a.pointer, b.pointer) == 1 }

    public var description: String { "PublicKey(\(algorithm))" }
}

/// Message digests through OpenSSL.
public enum Digest {
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        _ = bytes.withUnsafeBytes { EVP_Digest($0.baseAddress, $0.count, &out, &length, EVP_sha256(), nil) }
        return out
    }

    /// SHA-256 of `parts` one after another, without first joining them into one array.
    public static func sha256(concatenating parts: [[UInt8]]) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { return sha256(parts.flatMap { $0 }) }
        defer { EVP_MD_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard EVP_DigestInit_ex(ctx, EVP_sha256(), nil) == 1 else { return sha256(parts.flatMap { $0 }) }
        for part in parts { _ = part.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) } }
        EVP_DigestFinal_ex(ctx, &out, &length)
        return out
    }
}
