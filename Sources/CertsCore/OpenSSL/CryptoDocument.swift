internal import COpenSSL

/// Everything found in one input: PEM with any number of blocks, or a single DER object
/// (certificate, CSR, private key, public key, PKCS#7 bundle, PKCS#12 archive), detected
/// automatically. This is how every command reads a file, so they all accept the same things.
public struct CryptoDocument {
    public var certificates: [Certificate] = []
    public var requests: [CertificateSigningRequest] = []
    public var privateKeys: [PrivateKey] = []
    public var publicKeys: [PublicKey] = []
    /// PEM labels we recognised but do not handle (e.g. "X509 CRL").
    public var skippedBlocks: [String] = []
    public let encoding: Encoding
    /// The input was a PKCS#12 archive (its keys and certificates are above).
    public var wasPKCS12 = false
    public var wasPKCS7 = false

    public enum Encoding: String, Sendable { case pem = "PEM", der = "DER" }

    /// Parses `bytes`. `source` names the input in errors; `passphrase` opens encrypted keys and PKCS#12.
    public init(bytes: [UInt8], source: String, passphrase: Passphrase? = nil) throws {
        try self.init(parsing: bytes, source: source, passphrase: passphrase)
        // A certificate whose public key OpenSSL cannot decode parses as X509 but fails everything
        // later (verification ends in an "internal error"): refuse it here, as malformed input.
        for (index, certificate) in certificates.enumerated() where !certificate.hasDecodablePublicKey {
            let which = certificates.count == 1 ? "its public key" : "the public key of certificate \(index + 1)"
            throw InputError.malformed(path: source, what: "certificate", detail: "\(which) cannot be decoded")
        }
    }

    private init(parsing bytes: [UInt8], source: String, passphrase: Passphrase?) throws {
        if bytes.isEmpty { throw InputError.empty(path: source) }
        if let blocks = try PEMBlock.split(bytes, source: source) {
            encoding = .pem
            for block in blocks {
                switch block.label {
                case "CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE":
                    certificates.append(try Certificate.parsePEM(block.text, source: source))
                case "CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST":
                    requests.append(try CertificateSigningRequest.parsePEM(block.text, source: source))
                case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY":
                    privateKeys.append(try PrivateKey.parsePEM(block.text, passphrase: passphrase, source: source))
                case "PUBLIC KEY":
                    guard let key = PublicKey.parse(pem: block.text) else {
                        throw InputError.malformed(path: source, what: "public key", detail: OpenSSLError.drain("").entries.last?.reason ?? "unreadable")
                    }
                    publicKeys.append(key)
                case "PKCS7", "CERTIFICATE CHAIN":
                    wasPKCS7 = true
                    certificates += try Self.pkcs7Certificates(pem: block.text, source: source)
                case "EC PARAMETERS":
                    continue  // `openssl ecparam -genkey` writes these before the key: harmless
                default:
                    skippedBlocks.append(block.label)
                }
            }
            if certificates.isEmpty && requests.isEmpty && privateKeys.isEmpty && publicKeys.isEmpty {
                let labels = skippedBlocks.isEmpty ? "no PEM blocks" : "PEM blocks: \(skippedBlocks.joined(separator: ", "))"
                throw InputError.unrecognized(path: source, detail: labels)
            }
            return
        }
        encoding = .der
        if let cert = Certificate.parseDER(bytes) { certificates = [cert]; return }
        if let req = CertificateSigningRequest.parseDER(bytes) { requests = [req]; return }
        if let certs = Self.pkcs7Certificates(der: bytes) { certificates = certs; wasPKCS7 = true; return }
        if let pub = PublicKey.parse(der: bytes) { publicKeys = [pub]; return }
        if PrivateKey.isEncryptedDER(bytes) {
            guard let passphrase else { throw PassphraseError.required(path: source) }
            guard let key = PrivateKey.parseDER(bytes, passphrase: passphrase, source: source) else {
                throw PassphraseError.wrong(path: source)
            }
            privateKeys = [key]; return
        }
        if let key = PrivateKey.parseDER(bytes, passphrase: nil, source: source) { privateKeys = [key]; return }
        if let p12 = try PKCS12Archive.parse(bytes, passphrase: passphrase, source: source) {
            wasPKCS12 = true
            privateKeys = p12.key.map { [$0] } ?? []
            certificates = p12.certificates
            return
        }
        OpenSSLError.clear()
        let looksText = bytes.prefix(512).allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || ($0 >= 32 && $0 < 127) }
        throw InputError.unrecognized(path: source, detail: looksText ? "text without a -----BEGIN line" : "binary data that is not DER")
    }

    /// "a certificate", "2 certificates and a private key", for messages.
    public var contentDescription: String {
        var parts: [String] = []
        func count(_ n: Int, _ one: String, _ many: String) { if n == 1 { parts.append(one) } else if n > 1 { parts.append("\(n) \(many)") } }
        count(certificates.count, "a certificate", "certificates")
        count(requests.count, "a certificate signing request", "certificate signing requests")
        count(privateKeys.count, "a private key", "private keys")
        count(publicKeys.count, "a public key", "public keys")
        if parts.isEmpty { return "nothing usable" }
        if parts.count == 1 { return parts[0] }
        return parts.dropLast().joined(separator: ", ") + " and " + parts.last!
    }

    static func pkcs7Certificates(pem: [UInt8], source: String) throws -> [Certificate] {
        let bio = try MemoryBIO(pem)
        OpenSSLError.clear()
        guard let p7 = PEM_read_bio_PKCS7(bio.pointer, nil, certs_no_password_callback(), nil) else {
            throw InputError.malformed(path: source, what: "PKCS#7 bundle", detail: OpenSSLError.drain("").entries.last?.reason ?? "unreadable")
        }
        defer { PKCS7_free(p7) }
        return certificates(in: p7)
    }

    static func pkcs7Certificates(der: [UInt8]) -> [Certificate]? {
        guard let p7 = decodeDER(der, { d2i_PKCS7(nil, $0, $1) }, free: PKCS7_free) else { return nil }
        defer { PKCS7_free(p7) }
        return certificates(in: p7)
    }

    static func certificates(in p7: UnsafeMutablePointer<PKCS7>) -> [Certificate] {
        guard let stack = certs_PKCS7_certificates(p7) else { return [] }
        return Certificate.all(in: stack)
    }
}

// MARK: The one DER/PEM reader of the objects `CryptoDocument` does not keep

extension CryptoDocument {
    /// The one DER decoder: `d2i` over `der`; nil when it fails or, with `whole`, when the object
    /// does not fill the buffer (then it is freed with `free`). Clears the error queue first.
    static func decodeDER<Object>(_ der: [UInt8], whole: Bool = true,
                                  _ d2i: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> Object?,
                                  free: (Object) -> Void) -> Object? {
        OpenSSLError.clear()
        guard !der.isEmpty else { return nil }
        return der.withUnsafeBufferPointer { buf -> Object? in
            var p: UnsafePointer<UInt8>? = buf.baseAddress
            guard let object = d2i(&p, buf.count) else { return nil }
            if whole && p != buf.baseAddress.map({ $0 + buf.count }) { free(object); return nil }
            return object
        }
    }

    /// An `X509_CRL` from DER or from the input's first `X509 CRL` PEM block (the block `inspect`
    /// lists as skipped); nil when `bytes` holds neither. The error queue is left empty.
    static func revocationList(_ bytes: [UInt8]) -> OpaquePointer? {
        defer { OpenSSLError.clear() }
        // DER first: a DER CRL may contain "-----BEGIN " inside a name or extension.
        if let crl = decodeDER(bytes, whole: false, { d2i_X509_CRL(nil, $0, $1) }, free: X509_CRL_free) { return crl }
        guard let blocks = try? PEMBlock.split(bytes, source: ""),
              let block = blocks.first(where: { $0.label == "X509 CRL" }),
              let bio = try? MemoryBIO(block.text) else { return nil }
        OpenSSLError.clear()
        return PEM_read_bio_X509_CRL(bio.pointer, nil, certs_no_password_callback(), nil)
    }

    /// An `OCSP_RESPONSE` from a responder's DER answer; nil when it is not one. The error queue is left empty.
    static func ocspResponse(_ der: [UInt8]) -> OpaquePointer? {
        defer { OpenSSLError.clear() }
        return decodeDER(der, whole: false, { d2i_OCSP_RESPONSE(nil, $0, $1) }, free: OCSP_RESPONSE_free)
    }
}

/// A PKCS#12 (.pfx/.p12) archive: a key and its certificates, usually passphrase-protected.
public struct PKCS12Archive {
    public var key: PrivateKey?
    public var certificates: [Certificate]

    /// nil when `bytes` is not PKCS#12 at all; throws when it is but cannot be opened.
    static func parse(_ bytes: [UInt8], passphrase: Passphrase?, source: String) throws -> PKCS12Archive? {
        guard let p12 = CryptoDocument.decodeDER(bytes, whole: false, { d2i_PKCS12(nil, $0, $1) }, free: PKCS12_free) else { return nil }
        defer { PKCS12_free(p12) }
        var pkey: OpaquePointer? = nil
        var cert: OpaquePointer? = nil
        var ca: OpaquePointer? = nil
        OpenSSLError.clear()
        var ok: Int32
        if let passphrase {
            ok = passphrase.withCString { PKCS12_parse(p12, $0.assumingMemoryBound(to: CChar.self), &pkey, &cert, &ca) }
        } else {
            guard PKCS12_verify_mac(p12, nil, 0) == 1 || PKCS12_verify_mac(p12, "", 0) == 1 else {
                throw PassphraseError.required(path: source)
            }
            ok = PKCS12_parse(p12, "", &pkey, &cert, &ca)
        }
        var e = ok == 1 ? nil : OpenSSLError.drain("opening the PKCS#12 archive")
        // RC2-40 archives (older Windows, OpenSSL 1.x) need OpenSSL 3's legacy provider: load it, retry once.
        if let failure = e, failure.mentions("unsupported"), certs_load_legacy_provider() == 1 {
            OpenSSLError.clear()
            ok = (passphrase ?? Passphrase("")).withCString { PKCS12_parse(p12, $0.assumingMemoryBound(to: CChar.self), &pkey, &cert, &ca) }
            e = ok == 1 ? nil : OpenSSLError.drain("opening the PKCS#12 archive")
        }
        if let e {
            if e.mentions("mac verify failure", "bad decrypt", "invalid password") { throw PassphraseError.wrong(path: source) }
            throw InputError.malformed(path: source, what: "PKCS#12 archive", detail: e.entries.last?.reason ?? "unreadable")
        }
        var certs: [Certificate] = []
        if let cert { certs.append(Certificate(owning: cert)) }
        if let ca {
            certs += Certificate.all(in: ca)
            certs_sk_X509_pop_free(ca)
        }
        return PKCS12Archive(key: pkey.map { PrivateKey(owning: $0) }, certificates: certs)
    }
}

/// One `-----BEGIN LABEL----- … -----END LABEL-----` block of a PEM file.
struct PEMBlock {
    let label: String
    /// The block's text including its BEGIN and END lines, as OpenSSL's readers want it.
    let text: [UInt8]

    /// Splits PEM input into blocks; nil when the input has no BEGIN line at all (treat as DER).
    /// The most PEM blocks one input may hold (a CA bundle such as Mozilla's has about 150).
    static let maximumBlocks = 1000

    static func split(_ bytes: [UInt8], source: String) throws -> [PEMBlock]? {
        let begin = Array("-----BEGIN ".utf8), end = Array("-----END ".utf8), dashes = Array("-----".utf8)
        guard let first = find(begin, in: bytes, from: 0) else { return nil }
        var blocks: [PEMBlock] = []
        var index = first
        while let start = find(begin, in: bytes, from: index) {
            let labelStart = start + begin.count
            guard let labelEnd = find(dashes, in: bytes, from: labelStart), labelEnd - labelStart < 80 else {
                throw InputError.malformed(path: source, what: "PEM", detail: "a BEGIN line is cut off")
            }
            let label = String(decoding: bytes[labelStart..<labelEnd], as: UTF8.self)
            let endLine = end + Array(label.utf8) + dashes
            guard let endStart = find(endLine, in: bytes, from: labelEnd) else {
                throw InputError.malformed(path: source, what: "PEM", detail: "\"BEGIN \(label)\" has no matching END line (the file is truncated?)")
            }
            let stop = endStart + endLine.count
            if let nested = find(begin, in: Array(bytes[(labelEnd + dashes.count)..<endStart]), from: 0), nested >= 0 {
                throw InputError.malformed(path: source, what: "PEM", detail: "\"BEGIN \(label)\" is not closed before the next BEGIN line (the file is truncated?)")
            }
            blocks.append(PEMBlock(label: label, text: Array(bytes[start..<stop]) + [10]))
            guard blocks.count <= maximumBlocks else {
                throw InputError.malformed(path: source, what: "PEM", detail: "more than \(maximumBlocks) PEM blocks; no certificate file or bundle holds that many")
            }
            index = stop
        }
        return blocks
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard needle.count <= haystack.count, from <= haystack.count - needle.count else { return nil }
        let first = needle[0]
        var i = from
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return i }
            }
            i += 1
        }
        return nil
    }
}
