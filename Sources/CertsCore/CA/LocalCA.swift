/// A local development CA, like mkcert, but shaped like a public CA: a root that signs an
/// intermediate, and the intermediate signs server certificates. That way every stack tested
/// against it has a real chain (leaf → intermediate → root) to install, serve and verify.
///
/// Layout under `<store>/ca/`: `root.pem`, `root-key.pem`, `intermediate.pem`, `intermediate-key.pem`.
public struct LocalCA {
    public let root: Certificate
    public let intermediate: Certificate
    let intermediateKey: PrivateKey
    public let directory: String

    public var rootPath: String { "\(directory)/root.pem" }

    public static func directory(inStore store: String) -> String { "\(store)/ca" }

    /// Creates a new CA in `<store>/ca`. Refuses to replace an existing one unless `force`.
    @discardableResult
    public static func create(store: String, name: String = "certs development CA", keyType: KeyType = .ecP256,
                              now: Int64, rootDays: Int = 3650, intermediateDays: Int = 1825, force: Bool = false) throws -> LocalCA {
        try create(directory: directory(inStore: store), name: name, keyType: keyType, now: now,
                   rootDays: rootDays, intermediateDays: intermediateDays, force: force)
    }

    /// Creates a CA in `dir` (the same layout; the internal hop CA lives in `<store>/hop-ca`).
    @discardableResult
    public static func create(directory dir: String, name: String, keyType: KeyType = .ecP256,
                              now: Int64, rootDays: Int = 3650, intermediateDays: Int = 1825, force: Bool = false) throws -> LocalCA {
        if !force, FileSystem.exists("\(dir)/root.pem") || FileSystem.exists("\(dir)/root-key.pem") {
            throw CAError.alreadyExists(directory: dir)
        }
        try FileSystem.makeDirectories(dir, mode: 0o755)
        let rootKey = try PrivateKey.generate(keyType)
        var rootBuilder = CertificateBuilder(subject: DistinguishedName(commonName: "\(name) root", organization: name),
                                             publicKey: rootKey.publicKey, notBefore: now - 60, notAfter: now + Int64(rootDays) * 86400)
        rootBuilder.isCA = true
        rootBuilder.pathLength = 1
        let root = try rootBuilder.sign(with: rootKey)

        let intermediateKey = try PrivateKey.generate(keyType)
        var ib = CertificateBuilder(subject: DistinguishedName(commonName: "\(name) intermediate", organization: name),
                                    publicKey: intermediateKey.publicKey, notBefore: now - 60, notAfter: now + Int64(intermediateDays) * 86400)
        ib.isCA = true
        ib.pathLength = 0
        ib.issuer = root
        ib.extendedKeyUsage = "serverAuth,clientAuth"
        let intermediate = try ib.sign(with: rootKey)

        let mode: FileSystem.Existing = force ? .replace : .refuse
        try FileSystem.writeAtomically(try rootKey.pem(), to: "\(dir)/root-key.pem", mode: 0o600, existing: mode)
        try FileSystem.writeAtomically(try intermediateKey.pem(), to: "\(dir)/intermediate-key.pem", mode: 0o600, existing: mode)
        try FileSystem.writeAtomically(try intermediate.pem(), to: "\(dir)/intermediate.pem", mode: 0o644, existing: mode)
        try FileSystem.writeAtomically(try root.pem(), to: "\(dir)/root.pem", mode: 0o644, existing: mode)
        return LocalCA(root: root, intermediate: intermediate, intermediateKey: intermediateKey, directory: dir)
    }

    /// Opens the CA in `<store>/ca`.
    public static func open(store: String) throws -> LocalCA { try open(directory: directory(inStore: store)) }

    /// Opens the CA in `dir`.
    public static func open(directory dir: String) throws -> LocalCA {
        guard FileSystem.exists("\(dir)/root.pem") else { throw CAError.notInitialized(directory: dir) }
        func cert(_ file: String) throws -> Certificate {
            let path = "\(dir)/\(file)"
            return try Certificate.parseAll(try FileSystem.read(path), source: path)[0]
        }
        let keyPath = "\(dir)/intermediate-key.pem"
        let key = try PrivateKey(bytes: try FileSystem.read(keyPath), source: keyPath)
        let intermediate = try cert("intermediate.pem")
        guard key.matches(intermediate.publicKey) else { throw CAError.keyMismatch(path: keyPath) }
        return LocalCA(root: try cert("root.pem"), intermediate: intermediate, intermediateKey: key, directory: dir)
    }

    /// Issues a server certificate for `names` (the first is the subject CN) valid `notBefore…notAfter`;
    /// `clientAuth` makes it a TLS client certificate instead (extendedKeyUsage clientAuth only);
    /// `crlURL`: the crlDistributionPoints URI to name (nil: none).
    public func issue(names: [GeneralName], key: PrivateKey, notBefore: Int64, notAfter: Int64, clientAuth: Bool = false,
                      crlURL: String? = nil) throws -> Certificate {
        guard !names.isEmpty else { throw CAError.noNames }
        guard notAfter > notBefore else { throw CAError.badValidity }
        guard notAfter <= intermediate.notAfter else { throw CAError.outlivesCA(caNotAfter: intermediate.notAfter) }
        var b = CertificateBuilder.server(names: names, publicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter, issuer: intermediate)
        if clientAuth { b.extendedKeyUsage = "clientAuth" }
        if let crlURL { b.extensionOverrides["crlDistributionPoints"] = "URI:\(crlURL)" }
        return try b.sign(with: intermediateKey)
    }
}

public enum CAError: CertsFailure, Equatable {
    case alreadyExists(directory: String)
    case notInitialized(directory: String)
    case keyMismatch(path: String)
    case noNames
    case badValidity
    case outlivesCA(caNotAfter: Int64)
    case notIssuedHere(subject: String)

    public var kind: FailureKind {
        switch self {
        case .alreadyExists: return .output
        default: return .input
        }
    }

    public var description: String {
        switch self {
        case .alreadyExists(let d): return "a CA already exists in \(d) (replacing it means certificates it issued will no longer verify)"
        case .notInitialized(let d): return "no CA in \(d): run `certs ca init` first"
        case .keyMismatch(let p): return "\(p) does not belong to the CA's intermediate certificate"
        case .noNames: return "name at least one DNS name or IP address to issue for"
        case .badValidity: return "the certificate would expire before it becomes valid"
        case .outlivesCA(let t): return "the certificate would outlive the CA's intermediate (valid until \(RFC3339.format(t))); issue for fewer days"
        case .notIssuedHere(let s): return "\(s) was not issued by this CA's intermediate: only its own certificates can be revoked here"
        }
    }
}
