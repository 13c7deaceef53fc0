/// `certs install`'s policy: which key, the assembled chain, the checks that refuse before
/// anything is written (key match, completeness, --trust, expiry, `certs verify`'s verdict), then
/// the new version into `live/NAME`. Reading the files is the command's; time comes from `clock`.
///
/// SIGINT/SIGTERM while the new version goes live points `live/NAME` back at the previous one
/// and throws `Interrupted`.
public struct CertificateInstallation {
    /// Where the key comes from, in order: --key, a key inside the inputs, the installed one.
    public enum KeySource: Equatable, Sendable {
        case file(String)
        case insideInput(String)
        case installed
    }

    public var name: String
    public var certificates: [Certificate]
    /// --key, read by the command, and its path.
    public var key: (key: PrivateKey, path: String)?
    /// Keys found inside the inputs (a .pfx, a PEM with key and certificate); `certificateSource` names them.
    public var keysInInput: [PrivateKey] = []
    public var certificateSource: String
    /// --trust: the chain must end in one of these roots; `trustSource` names them.
    public var anchors: [Certificate] = []
    public var trustSource: String?
    public var allowIncomplete = false
    public var force = false
    public var clock: Clock = .system
    /// Progress (--verbose).
    public var log: ((String) -> Void)?

    public init(name: String, certificates: [Certificate], certificateSource: String) {
        self.name = name
        self.certificates = certificates
        self.certificateSource = certificateSource
    }

    /// Why nothing was installed: a negative answer about the certificate (the command says exit 1).
    public enum Refusal: Error, Equatable {
        case incomplete(MissingIssuer)
        case untrusted(top: String, issuer: String, trust: String)
        case expired(subject: String, notAfter: Int64)
        /// `certs verify`'s first error (code: message) and the codes of the others.
        case invalid(first: String, more: [String])
    }

    public struct NoKey: Error, Equatable {
        public let name: String
    }

    public func run(store: CertificateStore) throws -> InstallReport {
        try CertificateStore.validate(name: name)
        let now = clock.now()
        let privateKey: PrivateKey
        let keySource: KeySource
        if let key {
            privateKey = key.key
            keySource = .file(key.path)
        } else if let inside = keysInInput.first {
            privateKey = inside
            keySource = .insideInput(certificateSource)
        } else if let current = Self.currentKey(store, name: name) {
            privateKey = current
            keySource = .installed
        } else {
            throw NoKey(name: name)
        }

        let assembled = try ChainAssembler.assemble(certificates, key: privateKey.publicKey, anchors: anchors, now: now)
        guard privateKey.matches(assembled.leaf.publicKey) else { throw StoreError.keyMismatch(name: name) }
        if let missing = assembled.missingIssuer, !allowIncomplete {
            throw Refusal.incomplete(missing)
        }
        if let trust = trustSource, !anchors.isEmpty {
            let trusted = assembled.isAnchored(in: anchors) || (assembled.root.map { r in anchors.contains { $0 == r } } ?? false)
            if !trusted {
                throw Refusal.untrusted(top: assembled.top.subject.description, issuer: assembled.top.issuer.description, trust: trust)
            }
        }
        if assembled.leaf.notAfter < now && !force {
            throw Refusal.expired(subject: assembled.leaf.subject.description, notAfter: assembled.leaf.notAfter)
        }
        if !force {
            // The verdict `certs verify` gives (one engine for every command). Without --trust the
            // roots are not install's to judge: a private CA's certificate installs as before.
            let trustStore = try anchors.isEmpty ? TrustStore.system() : TrustStore.certificates(anchors, origin: "--trust \(trustSource ?? "")")
            let presented = [assembled.leaf] + assembled.intermediates + (assembled.root.map { [$0] } ?? [])
            let report = try ChainVerifier(trust: trustStore, time: now, key: privateKey).verify(fileCertificates: presented, source: certificateSource)
            let excused = ChainVerifier.trustAnchorCodes
            let blocking = report.errors.filter { e in
                !((anchors.isEmpty || allowIncomplete) && excused.contains(e.code))
            }
            if let first = blocking.first {
                throw Refusal.invalid(first: "\(first.code): \(first.message)", more: blocking.dropFirst().map(\.code))
            }
        }

        let previous = store.currentVersion(name)
        // Open before the swap: from here until the report, a signal puts the previous version back.
        let rollback = LiveRollback(store: store, subject: "\(store.liveDirectory(name))")
        rollback.begin()
        let paths = try store.install(name: name, key: privateKey, certificate: assembled.leaf, chain: assembled.intermediates)
        rollback.replaced(name, previous: previous)
        let version = store.currentVersion(name)
        log?("certs: \(store.liveDirectory(name)) now points at version \(version.map { String($0) } ?? "?")")
        try rollback.checkpoint()
        rollback.commit()
        return InstallReport(assembled: assembled, keySource: keySource, previousVersion: previous, installedVersion: version, paths: paths,
                             expired: assembled.leaf.notAfter < now)
    }

    /// The key currently installed under `name`, when there is one and it reads.
    static func currentKey(_ store: CertificateStore, name: String) -> PrivateKey? {
        let path = store.paths(name).key
        guard FileSystem.exists(path), let bytes = try? FileSystem.read(path) else { return nil }
        return try? PrivateKey(bytes: bytes, source: path)
    }
}

/// What `certs install` did.
public struct InstallReport {
    public let assembled: AssembledChain
    public let keySource: CertificateInstallation.KeySource
    public let previousVersion: Int?
    public let installedVersion: Int?
    public let paths: CertificateStore.Paths
    /// Installed although expired (--force).
    public let expired: Bool
}
