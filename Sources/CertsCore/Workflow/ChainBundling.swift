/// `certs bundle`'s policy: the leaf (the one for `key` when there are several, else for a key
/// inside the inputs), the key check, the root only on request and only when the input holds it,
/// and the rule that an incomplete chain is written only when `allowIncomplete` says so. Reading
/// the files and printing are the command's; time comes from `clock`.
public struct ChainBundling {
    public var certificates: [Certificate]
    /// --key, read by the command, and its path: picks the leaf and must match it.
    public var key: (key: PrivateKey, path: String)?
    /// Keys found inside the inputs (a .pfx, a PEM with key and certificate): pick the leaf when there is no `key`.
    public var keysInInput: [PrivateKey] = []
    public var includeRoot = false
    public var allowIncomplete = false
    public var clock: Clock = .system

    public init(certificates: [Certificate]) {
        self.certificates = certificates
    }

    /// `key` is not the leaf's key (a negative answer about the input: nothing was written).
    public struct KeyMismatch: Error, Equatable {
        public let keyPath: String
    }

    /// Assembles the chain and, unless it is incomplete without `allowIncomplete`, writes its PEM
    /// to `out` (mode 0644, atomically); with no `out` (or "-") the PEM is the caller's to print.
    public func run(out: OutputTarget?) throws -> BundleReport {
        let preferred = key?.key ?? keysInInput.first
        let chain = try ChainAssembler.assemble(certificates, key: preferred?.publicKey, now: clock.now())
        if let key, !key.key.matches(chain.leaf.publicKey) { throw KeyMismatch(keyPath: key.path) }

        let root = includeRoot ? chain.root : nil
        let written = chain.fullchain + (root.map { [$0] } ?? [])
        let pem = try written.flatMap { try $0.pem() }
        let target = out.flatMap { $0.isStandardOutput ? nil : $0 }
        let destination: BundleReport.Destination
        if !chain.isComplete && !allowIncomplete {
            destination = .nothing
        } else if let target {
            try target.write(pem, mode: 0o644, stdout: { _ in })
            destination = .file(target.path)
        } else {
            destination = .standardOutput
        }
        return BundleReport(chain: chain, rootIncluded: root != nil, certificates: written, pem: pem, destination: destination)
    }
}

/// What `certs bundle` assembled and where the PEM went.
public struct BundleReport {
    public enum Destination: Equatable, Sendable {
        /// Written to this file.
        case file(String)
        /// For the caller to print (or put into its JSON report).
        case standardOutput
        /// Nothing written: the chain is incomplete and that was not allowed (a negative answer).
        case nothing
    }

    public let chain: AssembledChain
    public let rootIncluded: Bool
    /// The chain as written: leaf, intermediates, and the root when included.
    public let certificates: [Certificate]
    public let pem: [UInt8]
    public let destination: Destination

    public var wrote: Bool { destination != .nothing }
    /// The file written, nil for stdout or nothing.
    public var file: String? {
        if case .file(let path) = destination { return path }
        return nil
    }
}
