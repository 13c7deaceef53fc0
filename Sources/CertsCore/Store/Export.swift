/// One installed certificate as read back from `live/NAME`.
public struct StoredCertificate: @unchecked Sendable {
    public let name: String
    public let version: Int?
    public let key: PrivateKey
    public let certificate: Certificate
    /// Intermediates in issuing order (`chain.pem`).
    public let chain: [Certificate]
    public let paths: CertificateStore.Paths
}

extension CertificateStore {
    /// Reads `live/NAME`: key, certificate and chain, checking the key matches.
    public func load(name: String) throws -> StoredCertificate {
        try Self.validate(name: name)
        let p = paths(name)
        guard FileSystem.exists(liveDirectory(name)), FileSystem.exists(p.certificate) else {
            throw StoreError.notFound(name: name, store: root)
        }
        let key = try PrivateKey(bytes: try FileSystem.read(p.key), source: p.key)
        let certificate = try Certificate.parseAll(try FileSystem.read(p.certificate), source: p.certificate)[0]
        var chain: [Certificate] = []
        // chain.pem is empty for a self-signed certificate; FileSystem.read refuses empty files.
        if let bytes = try? FileSystem.read(p.chain) {
            chain = try Certificate.parseAll(bytes, source: p.chain)
        }
        guard key.matches(certificate.publicKey) else { throw StoreError.keyMismatch(name: name) }
        return StoredCertificate(name: name, version: currentVersion(name), key: key, certificate: certificate, chain: chain, paths: p)
    }
}
