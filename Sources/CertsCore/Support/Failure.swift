/// What kind of failure an error is, so a front end can pick an exit code without knowing every case.
public enum FailureKind: Sendable {
    /// The user's input is missing, unreadable or malformed (a file, a flag value, a passphrase).
    case input
    /// Output could not be written, or would overwrite something we must not overwrite.
    case output
    /// A remote party (ACME server, TLS peer) failed or refused.
    case remote
    /// Something inside the tool or OpenSSL failed that the user did not cause.
    case `internal`
}

/// Errors that know their kind and have a one-line, secret-free message for a person.
public protocol CertsFailure: Error, CustomStringConvertible {
    var kind: FailureKind { get }
}

extension OpenSSLError: CertsFailure {
    public var kind: FailureKind { .internal }
}

/// Problems with input files and option values.
public enum InputError: CertsFailure, Equatable {
    case notFound(path: String)
    case isDirectory(path: String)
    case empty(path: String)
    case unreadable(path: String, reason: String)
    case tooLarge(path: String, limit: Int)
    /// Neither PEM nor DER of anything we know.
    case unrecognized(path: String, detail: String)
    /// Parsed, but not the kind of object this command needs ("a private key", found "a certificate").
    case wrongContent(path: String, expected: String, found: String)
    case malformed(path: String, what: String, detail: String)
    case invalidValue(option: String, value: String, reason: String)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .notFound(let p): return "\(p): no such file"
        case .isDirectory(let p): return "\(p) is a directory, not a file"
        case .empty(let p): return "\(p) is empty"
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .tooLarge(let p, let limit): return "\(p) is larger than \(limit / (1024 * 1024)) MiB; not a certificate, key or CSR"
        case .unrecognized(let p, let d): return "\(p) is not a PEM or DER certificate, key or CSR (\(d))"
        case .wrongContent(let p, let e, let f): return "\(p) is not \(e) (it holds \(f))"
        case .malformed(let p, let w, let d): return "\(p): malformed \(w): \(d)"
        case .invalidValue(let o, let v, let r): return "invalid \(o) \"\(v)\": \(r)"
        }
    }
}

/// Passphrases and other secrets: missing, wrong, or given in a way that cannot be used.
/// (The CLI says which options give one; core messages name no flags.)
public enum PassphraseError: CertsFailure, Equatable {
    /// The file is encrypted and no passphrase was given.
    case required(path: String)
    case wrong(path: String)
    /// The passphrase (or EAB key) source is unusable: empty, unset, or given twice.
    case source(String)

    public var kind: FailureKind { .input }

    public var description: String {
        switch self {
        case .required(let p): return "\(p) is encrypted and needs a passphrase"
        case .wrong(let p): return "\(p): wrong passphrase for the encrypted private key"
        case .source(let m): return m
        }
    }
}

/// Problems writing output.
public enum OutputError: CertsFailure, Equatable {
    case exists(path: String)
    /// The output would replace a file the command reads (the stack file): refused even when forced.
    case isInput(path: String, input: String)
    case directoryMissing(path: String)
    case cannotWrite(path: String, reason: String)

    public var kind: FailureKind { .output }

    public var description: String {
        switch self {
        case .exists(let p): return "\(p) already exists"
        case .isInput(let p, let i): return "\(p) is \(i), which this command reads; refusing to replace it (write somewhere else)"
        case .directoryMissing(let p): return "\(p): the directory does not exist"
        case .cannotWrite(let p, let r): return "\(p): cannot write: \(r)"
        }
    }
}
