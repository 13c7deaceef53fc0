#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The certificate store of a deployment (`./certs` by default).
///
/// ```
/// certs/
///   live/NAME -> ../archive/NAME/0003      one symlink per certificate, swapped atomically
///   archive/NAME/0001 … 0003/              every version: privkey.pem cert.pem chain.pem fullchain.pem
///   ca/                                    the local development CA, when there is one
///   accounts/                              ACME account keys
/// ```
/// `live/NAME` is a symlink to a complete version directory, so readers (nginx, `certs check`)
/// see either the whole old set or the whole new set, never a new key with an old certificate.
/// Paths stay the familiar `live/NAME/fullchain.pem`.
public struct CertificateStore: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    public static let keyFile = "privkey.pem"
    public static let certFile = "cert.pem"
    public static let chainFile = "chain.pem"
    public static let fullchainFile = "fullchain.pem"

    public func liveDirectory(_ name: String) -> String { "\(root)/live/\(name)" }
    public func archiveDirectory(_ name: String) -> String { "\(root)/archive/\(name)" }

    /// File paths of one live certificate.
    public struct Paths: Sendable {
        public let directory: String
        public var key: String { "\(directory)/\(CertificateStore.keyFile)" }
        public var certificate: String { "\(directory)/\(CertificateStore.certFile)" }
        public var chain: String { "\(directory)/\(CertificateStore.chainFile)" }
        public var fullchain: String { "\(directory)/\(CertificateStore.fullchainFile)" }
    }

    public func paths(_ name: String) -> Paths { Paths(directory: liveDirectory(name)) }

    /// Names with a live certificate.
    public func names() -> [String] { FileSystem.list("\(root)/live") }

    /// A store name for a certificate: its first DNS name or IP, with `*` spelled `_wildcard`.
    public static func name(for names: [GeneralName]) -> String {
        let first = names.first?.value ?? "certificate"
        return first.replacing("*", with: "_wildcard").replacing(":", with: "_")
    }

    /// Store names are single path components of safe characters: never `..`, `/` or hidden.
    public static func validate(name: String) throws {
        let ok = !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".") && !name.hasPrefix("-")
            && name.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 || $0 == 95 }
        if !ok {
            throw InputError.invalidValue(option: "certificate name", value: name,
                                          reason: "use letters, digits, '.', '-' and '_' only (it becomes a directory under live/)")
        }
    }

    /// Installs a new version of `name` and points `live/NAME` at it.
    ///
    /// The key must match the certificate (checked here, so nothing inconsistent can reach
    /// `live/`); `chain` is the issuer chain without the root. The previous version stays in
    /// `archive/NAME/` for rollback.
    @discardableResult
    public func install(name: String, key: PrivateKey, certificate: Certificate, chain: [Certificate]) throws -> Paths {
        try Self.validate(name: name)
        guard key.matches(certificate.publicKey) else { throw StoreError.keyMismatch(name: name) }
        let archive = archiveDirectory(name)
        try FileSystem.makeDirectories("\(root)/live", mode: 0o755)
        try FileSystem.makeDirectories(archive, mode: 0o755)
        // What a killed earlier run left (its staging directory, a half-made live link).
        FileSystem.removeStaleTemporaries(in: archive)
        FileSystem.removeStaleTemporaries(in: "\(root)/live")

        let version = String(format4: (versions(name).last ?? 0) + 1)
        let staging = "\(archive)/.\(version).tmp-\(FileSystem.randomSuffix())"
        guard mkdir(staging, 0o755) == 0 else { throw OutputError.cannotWrite(path: staging, reason: FileSystem.errorString(errno)) }
        var published = false
        defer { if !published { removeTree(staging) } }

        let certPEM = try certificate.pem()
        let chainPEM = try chain.flatMap { try $0.pem() }
        try FileSystem.writeAtomically(try key.pem(), to: "\(staging)/\(Self.keyFile)", mode: 0o600)
        try FileSystem.writeAtomically(certPEM, to: "\(staging)/\(Self.certFile)", mode: 0o644)
        try FileSystem.writeAtomically(chainPEM, to: "\(staging)/\(Self.chainFile)", mode: 0o644)
        try FileSystem.writeAtomically(certPEM + chainPEM, to: "\(staging)/\(Self.fullchainFile)", mode: 0o644)
        let final = "\(archive)/\(version)"
        guard rename(staging, final) == 0 else { throw OutputError.cannotWrite(path: final, reason: FileSystem.errorString(errno)) }
        published = true
        FileSystem.syncDirectory(archive)
        try point(name: name, at: version)
        return paths(name)
    }

    /// Version numbers present in `archive/NAME`, ascending.
    public func versions(_ name: String) -> [Int] {
        FileSystem.list(archiveDirectory(name)).compactMap { Int($0) }.sorted()
    }

    /// The version `live/NAME` points at, if any.
    public func currentVersion(_ name: String) -> Int? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(liveDirectory(name), &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        buffer[n] = 0
        return Int(FileSystem.baseName(of: String(cBuffer: buffer)))
    }

    /// Points `live/NAME` at an archived version (used by install and rollback), atomically.
    public func point(name: String, at version: String) throws {
        try Self.validate(name: name)
        let live = liveDirectory(name)
        var st = stat()
        if lstat(live, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            throw StoreError.liveIsDirectory(path: live)
        }
        let link = "\(root)/live/.\(name).tmp-\(FileSystem.randomSuffix())"
        guard symlink("../archive/\(name)/\(version)", link) == 0 else {
            throw OutputError.cannotWrite(path: live, reason: FileSystem.errorString(errno))
        }
        guard rename(link, live) == 0 else {
            let e = errno
            unlink(link)
            throw OutputError.cannotWrite(path: live, reason: FileSystem.errorString(e))
        }
        FileSystem.syncDirectory("\(root)/live")
    }

    /// Points `live/NAME` back at the version before the current one.
    public func rollback(name: String) throws -> Int {
        guard let current = currentVersion(name), let previous = versions(name).last(where: { $0 < current }) else {
            throw StoreError.nothingToRollBack(name: name)
        }
        try point(name: name, at: String(format4: previous))
        return previous
    }

    func removeTree(_ path: String) {
        for entry in FileSystem.list(path) { unlink("\(path)/\(entry)") }
        // hidden temp files of writeAtomically
        if let d = opendir(path) {
            while let e = readdir(d) {
                let n = withUnsafePointer(to: e.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
                if n != "." && n != ".." { unlink("\(path)/\(n)") }
            }
            closedir(d)
        }
        rmdir(path)
    }
}

public enum StoreError: CertsFailure, Equatable {
    case keyMismatch(name: String)
    case liveIsDirectory(path: String)
    case nothingToRollBack(name: String)
    case notFound(name: String, store: String)

    public var kind: FailureKind {
        switch self {
        case .keyMismatch, .notFound: return .input
        case .liveIsDirectory, .nothingToRollBack: return .output
        }
    }

    public var description: String {
        switch self {
        case .keyMismatch(let n): return "\(n): the private key does not match the certificate; nothing was installed"
        case .liveIsDirectory(let p): return "\(p) is a plain directory, not a certs-managed link; move it aside first"
        case .nothingToRollBack(let n): return "\(n): there is no earlier version to roll back to"
        case .notFound(let n, let s): return "no certificate named \(n) in \(s)/live"
        }
    }
}

extension String {
    /// Zero-padded four digits: version directory names sort as numbers.
    init(format4 value: Int) {
        let digits = String(value)
        let padding = digits.count < 4 ? 4 - digits.count : 0
        self.init(repeating: "0", count: padding)
        self += digits
    }
}
