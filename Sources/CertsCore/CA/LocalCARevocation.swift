/// Revocation for the local CA: `certs ca revoke` records a certificate the intermediate issued in
/// `<ca>/revoked.txt` (one `SERIALHEX UNIXTIME REASON` line each), and `certs ca crl` signs a v2 CRL
/// of them with the intermediate's key (CRL number, authority key identifier, reason codes), to
/// serve at the URL `ca issue --crl-url` named.
public struct RevokedCertificate: Sendable, Equatable {
    public var serialHex: String
    public var revokedAt: Int64
    public var reason: String

    public init(serialHex: String, revokedAt: Int64, reason: String) {
        self.serialHex = serialHex
        self.revokedAt = revokedAt
        self.reason = reason
    }
}

extension LocalCA {
    /// RFC 5280 §5.3.1 reason names `ca revoke --reason` accepts, with their codes.
    public static let revocationReasons: [(name: String, code: Int32)] = [
        ("unspecified", 0), ("keyCompromise", 1), ("cACompromise", 2), ("affiliationChanged", 3), ("superseded", 4),
        ("cessationOfOperation", 5), ("certificateHold", 6), ("privilegeWithdrawn", 9),
    ]

    var revokedPath: String { "\(directory)/revoked.txt" }

    /// What this CA has revoked, oldest first.
    public func revoked() throws -> [RevokedCertificate] {
        guard FileSystem.exists(revokedPath) else { return [] }
        let text = String(decoding: try FileSystem.read(revokedPath, limit: 16 * 1024 * 1024), as: UTF8.self)
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 3, let at = Int64(f[1]) else { return nil }
            return RevokedCertificate(serialHex: String(f[0]), revokedAt: at, reason: String(f[2]))
        }
    }

    /// Records `certificate` as revoked at `now`. Only certificates this CA's intermediate issued;
    /// revoking one twice keeps the first record.
    @discardableResult
    public func revoke(_ certificate: Certificate, reason: String, now: Int64) throws -> RevokedCertificate {
        guard Self.revocationReasons.contains(where: { $0.name == reason }) else {
            throw InputError.invalidValue(option: "--reason", value: reason,
                                          reason: "one of " + Self.revocationReasons.map(\.name).joined(separator: ", "))
        }
        guard certificate.isIssued(by: intermediate) else { throw CAError.notIssuedHere(subject: certificate.subject.description) }
        var all = try revoked()
        if let existing = all.first(where: { $0.serialHex == certificate.serialHex }) { return existing }
        let entry = RevokedCertificate(serialHex: certificate.serialHex, revokedAt: now, reason: reason)
        all.append(entry)
        let text = all.map { "\($0.serialHex) \($0.revokedAt) \($0.reason)\n" }.joined()
        try FileSystem.writeAtomically(Array(text.utf8), to: revokedPath, mode: 0o644, existing: .replace)
        return entry
    }

    /// A CRL of every revoked certificate (DER, or PEM when `pem`), valid from `now` for `days`,
    /// numbered by `now` (monotonic for a CA that signs at most one CRL per second).
    public func crl(now: Int64, days: Int, pem: Bool = false) throws -> [UInt8] {
        let entries = try revoked().map { entry in
            RevocationList.Entry(serialHex: entry.serialHex, revokedAt: entry.revokedAt,
                                 reasonCode: Self.revocationReasons.first(where: { $0.name == entry.reason }).map(\.code).flatMap { $0 == 0 ? nil : $0 })
        }
        return try RevocationList.sign(entries: entries, issuer: intermediate, key: intermediateKey,
                                       thisUpdate: now, nextUpdate: now + Int64(days) * 86400, number: now, pem: pem)
    }
}
