#if canImport(Glibc)
import Glibc
#endif

/// Where a command writes: a file (atomically, with its exact mode, never over an existing file
/// without `force`) or standard output for "-".
public struct OutputTarget: Sendable {
    public let path: String
    public let force: Bool

    public init(_ path: String, force: Bool) {
        self.path = path
        self.force = force
    }

    public var isStandardOutput: Bool { path == "-" }

    /// Fails before any work when the file exists and `force` is off, or its directory is missing.
    public func ensureWritable() throws {
        guard !isStandardOutput else { return }
        if !force && FileSystem.exists(path) { throw OutputError.exists(path: path) }
        let dir = FileSystem.directoryName(of: path)
        if !FileSystem.isDirectory(dir) { throw OutputError.directoryMissing(path: dir) }
    }

    public func write(_ bytes: [UInt8], mode: UInt32, stdout: ([UInt8]) -> Void) throws {
        if isStandardOutput { stdout(bytes); return }
        try FileSystem.writeAtomically(bytes, to: path, mode: mode, existing: force ? .replace : .refuse)
    }
}

/// `certs key new`: a new private key, PKCS#8 PEM or DER, encrypted with `passphrase` when given, mode 0600.
public struct KeyWriting {
    public var type: KeyType
    public var der = false
    public var passphrase: Passphrase?

    public init(type: KeyType) { self.type = type }

    public func write(to target: OutputTarget, stdout: ([UInt8]) -> Void) throws {
        try target.ensureWritable()
        let key = try PrivateKey.generate(type)
        let encoded = der ? try key.der(passphrase: passphrase) : try key.pem(passphrase: passphrase)
        try target.write(encoded, mode: 0o600, stdout: stdout)
    }
}
