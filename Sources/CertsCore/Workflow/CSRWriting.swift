#if canImport(Glibc)
import Glibc
#endif

/// `certs csr new`: a CSR signed by an existing key or a new one, and the new key written with it,
/// both or neither: the CSR goes first, and when the key cannot be written the CSR is taken back
/// (or its previous contents restored); a key the user already had is never touched.
public struct CSRWriting {
    public enum Key {
        case existing(PrivateKey)
        /// Generated, written to `target` (mode 0600).
        case new(KeyType, target: OutputTarget)
    }

    public var subject: DistinguishedName
    public var names: [GeneralName]
    public var key: Key
    public var der = false
    /// Encrypts a new key.
    public var passphrase: Passphrase?

    public init(subject: DistinguishedName, names: [GeneralName], key: Key) {
        self.subject = subject
        self.names = names
        self.key = key
    }

    /// What was written: the new key's path (nil with an existing key) and its algorithm.
    public struct Written {
        public let keyPath: String?
        public let algorithm: KeyAlgorithm
    }

    public func write(to out: OutputTarget, stdout: ([UInt8]) -> Void) throws -> Written {
        let privateKey: PrivateKey
        var keyTarget: OutputTarget? = nil
        switch key {
        case .existing(let k):
            privateKey = k
        case .new(let type, let target):
            try target.ensureWritable()
            keyTarget = target
            privateKey = try PrivateKey.generate(type)
        }
        try out.ensureWritable()
        let csr = try CertificateSigningRequest.create(key: privateKey, subject: subject, subjectAlternativeNames: names)
        let csrBytes = der ? try csr.der() : try csr.pem()
        guard let keyTarget else {
            try out.write(csrBytes, mode: 0o644, stdout: stdout)
            return Written(keyPath: nil, algorithm: privateKey.algorithm)
        }
        let previousCSR = !out.isStandardOutput && FileSystem.exists(out.path) ? try? FileSystem.read(out.path) : nil
        try out.write(csrBytes, mode: 0o644, stdout: stdout)
        do {
            let keyBytes = der ? try privateKey.der(passphrase: passphrase) : try privateKey.pem(passphrase: passphrase)
            try keyTarget.write(keyBytes, mode: 0o600, stdout: stdout)
        } catch {
            if !out.isStandardOutput {
                if let previousCSR {
                    try? FileSystem.writeAtomically(previousCSR, to: out.path, mode: 0o644, existing: .replace)
                } else {
                    unlink(out.path)
                }
            }
            throw error
        }
        return Written(keyPath: keyTarget.path, algorithm: privateKey.algorithm)
    }
}
