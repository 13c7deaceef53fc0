#if canImport(Glibc)
import Glibc
#endif

/// Reads certificate files for a run that verifies many of them: each distinct PEM certificate
/// block is parsed once (intermediates repeat in every fullchain.pem, and OpenSSL 3 spends more
/// time decoding a certificate's public key than verifying its signature).
///
/// Anything other than plain PEM certificates (DER, PKCS#7, mixed content) goes through
/// `CryptoDocument`, so inputs and errors are the same as everywhere else.
public final class CertificateParser {
    private var cache: [BlockText: Certificate] = [:]

    /// A PEM block's text as a dictionary key, hashed in one pass over its bytes (`[UInt8]`'s own
    /// hashing feeds them to the hasher one at a time: ~50K instructions per file of a check).
    struct BlockText: Hashable {
        let bytes: [UInt8]
        func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
        static func == (a: BlockText, b: BlockText) -> Bool { a.bytes == b.bytes }
    }
    private static let labels: Set<String> = ["CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"]

    /// Opens PKCS#12 archives and encrypted bundles (`certs check --passphrase-file`).
    public var passphrase: Passphrase?

    public init(passphrase: Passphrase? = nil) { self.passphrase = passphrase }

    /// Every certificate in `bytes`, in order; `source` names the input in errors.
    public func certificates(in bytes: [UInt8], source: String) throws -> [Certificate] {
        if bytes.isEmpty { throw InputError.empty(path: source) }
        guard let blocks = try PEMBlock.split(bytes, source: source), !blocks.isEmpty,
              blocks.allSatisfy({ Self.labels.contains($0.label) }) else {
            guard let passphrase else { return try Certificate.parseAll(bytes, source: source) }
            let document = try CryptoDocument(bytes: bytes, source: source, passphrase: passphrase)
            guard !document.certificates.isEmpty else {
                throw InputError.wrongContent(path: source, expected: "a certificate", found: document.contentDescription)
            }
            return document.certificates
        }
        return try blocks.map { block in
            let key = BlockText(bytes: block.text)
            if let known = cache[key] { return known }
            let cert = try Certificate.parsePEM(block.text, source: source)
            cache[key] = cert
            return cert
        }
    }

    /// True when `bytes` hold certificates behind a passphrase: a PKCS#12 archive (DER
    /// `SEQUENCE { INTEGER 3, … }`) or a PEM bundle with a certificate next to an encrypted key.
    /// An encrypted key alone holds no certificate.
    public static func hidesCertificates(_ bytes: [UInt8]) -> Bool {
        if bytes.first == 0x30, bytes.count > 8 {
            var i = 1
            if bytes[1] & 0x80 != 0 { i += Int(bytes[1] & 0x7f) }
            i += 1
            return i + 2 < bytes.count && bytes[i] == 0x02 && bytes[i + 1] == 0x01 && bytes[i + 2] == 0x03
        }
        let text = String(decoding: bytes.prefix(1 << 20), as: UTF8.self)
        return text.contains("-----BEGIN CERTIFICATE-----")
    }

    /// Reads and parses a file.
    public func certificates(atPath path: String) throws -> [Certificate] {
        try certificates(in: try FileSystem.quickRead(path) ?? FileSystem.read(path), source: path)
    }
}
