import ArgumentParser
import CertsCore

/// `--store DIR`: the certificate store, default `$CERTS_STORE` or `./certs`.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The certificate store directory (default: $CERTS_STORE, else ./certs).", valueName: "dir"))
    var store: String?

    var path: String {
        if let store, !store.isEmpty { return store.hasSuffix("/") && store.count > 1 ? String(store.dropLast()) : store }
        if let env = Terminal.environment("CERTS_STORE"), !env.isEmpty { return env }
        return "certs"
    }
}

/// `--warn`/`--crit`, one parser and one default for check, doctor, deploy and emit ci (docs/cli.md).
struct ThresholdOptions: ParsableArguments {
    @Option(help: ArgumentHelp("WARNING threshold: days left (30), a percentage of the lifetime left (33%), or both (30,33%: crossed once both are, so it scales down for short-lived certificates). Default 30,33%.", valueName: "days|pct%|days,pct%"))
    var warn: String?

    @Option(help: ArgumentHelp("CRITICAL threshold, same forms, below --warn. Default 7,10%.", valueName: "days|pct%|days,pct%"))
    var crit: String?

    func thresholds() throws -> CheckThresholds { try CheckThresholds(warning: warn, critical: crit) }
}

/// Where a passphrase comes from. Never from argv: a command line is visible to every user in `ps`.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: ArgumentHelp("Read the key passphrase from the first line of this file.", valueName: "file"))
    var file: String?

    @Option(name: .customLong("passphrase-env"), help: ArgumentHelp("Read the key passphrase from this environment variable.", valueName: "name"))
    var env: String?

    var isSet: Bool { file != nil || env != nil }

    func load() throws -> Passphrase? {
        if file != nil && env != nil {
            throw PassphraseError.source("give the passphrase with --passphrase-file or --passphrase-env, not both")
        }
        if let file {
            var bytes = try FileSystem.read(file, limit: 64 * 1024)
            if let newline = bytes.firstIndex(of: 10) { bytes = Array(bytes[..<newline]) }
            if bytes.last == 13 { bytes.removeLast() }
            guard !bytes.isEmpty else { throw PassphraseError.source("\(file): the passphrase file's first line is empty") }
            return Passphrase(bytes)
        }
        if let env {
            guard let value = Terminal.environment(env) else {
                throw PassphraseError.source("environment variable \(env) is not set (--passphrase-env names the variable, not the passphrase)")
            }
            guard !value.isEmpty else { throw PassphraseError.source("environment variable \(env) is empty") }
            return Passphrase(value)
        }
        return nil
    }
}

/// The encoding of a written key, CSR or certificate.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case pem, der
}

/// Writes output to a path (atomically, exact mode, refusing to overwrite without --force) or stdout for "-".
enum Output {
    static func write(_ bytes: [UInt8], to path: String, mode: UInt32, force: Bool) throws {
        try OutputTarget(path, force: force).write(bytes, mode: mode, stdout: Terminal.writeBytes)
    }

    /// Fails before any work when `path` exists and --force was not given.
    static func ensureWritable(_ path: String, force: Bool) throws {
        try OutputTarget(path, force: force).ensureWritable()
    }
}

extension KeyType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let k = try? KeyType(parsing: argument) else { return nil }
        self = k
    }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Reads a file as a parsed document, naming the file in every error.
func readDocument(_ path: String, passphrase: Passphrase? = nil) throws -> CryptoDocument {
    if path == "-" {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > FileSystem.maximumInputSize { throw InputError.tooLarge(path: "stdin", limit: FileSystem.maximumInputSize) }
        }
        return try CryptoDocument(bytes: bytes, source: "stdin", passphrase: passphrase)
    }
    return try CryptoDocument(bytes: try FileSystem.read(path), source: path, passphrase: passphrase)
}

func readPrivateKey(_ path: String, passphrase: Passphrase?) throws -> PrivateKey {
    let doc = try readDocument(path, passphrase: passphrase)
    guard let key = doc.privateKeys.first else {
        throw InputError.wrongContent(path: path, expected: "a private key", found: doc.contentDescription)
    }
    return key
}

/// Parses `--at`/`--valid-from` values: Unix seconds or RFC 3339.
func parseTime(_ text: String, option: String) throws -> Int64 {
    if let seconds = Int64(text) { return seconds }
    if let t = RFC3339.parse(text) { return t }
    throw InputError.invalidValue(option: option, value: text, reason: "use Unix seconds or RFC 3339 (2026-11-25T06:00:00Z)")
}

#if canImport(Glibc)
import Glibc
#endif

/// DNS settings of request and renew: the resolver for zone discovery and CAA, how long DNS-01
/// waits for the authoritative servers, and the CAA escape hatch (docs/acme.md).
struct DNSOptions: ParsableArguments {
    @Option(name: .customLong("dns-resolver"), help: ArgumentHelp("Resolver for DNS-01 zone discovery and CAA (default: $CERTS_DNS_RESOLVER, else /etc/resolv.conf). Repeatable.", valueName: "ip[:port]"))
    var resolver: [String] = []

    @Option(name: .customLong("dns-timeout"), help: ArgumentHelp("DNS-01: seconds to wait for the TXT records on every authoritative server (0: do not check).", valueName: "seconds"))
    var timeout: Double = 120

    @Flag(name: .customLong("no-caa-check"), help: "Do not check the names' CAA records (RFC 8659) before ordering.")
    var noCAACheck = false

    func resolvers() throws -> [DNSServer] {
        guard timeout >= 0, timeout <= 3600 else {
            throw InputError.invalidValue(option: "--dns-timeout", value: String(timeout), reason: "give seconds between 0 and 3600")
        }
        do { return resolver.isEmpty ? try Self.environmentResolvers() : try resolver.map { try DNSServer(parsing: $0) } }
        catch let e as DNSError { throw InputError.invalidValue(option: "--dns-resolver", value: resolver.joined(separator: " "), reason: "\(e)") }
    }

    /// $CERTS_DNS_RESOLVER: resolvers separated by spaces or commas (empty: resolv.conf).
    static func environmentResolvers() throws -> [DNSServer] {
        guard let env = Terminal.environment("CERTS_DNS_RESOLVER") else { return [] }
        return try env.split(whereSeparator: { $0 == " " || $0 == "," }).map { try DNSServer(parsing: String($0)) }
    }

    func apply(to request: inout IssuanceRequest) throws {
        request.dnsResolvers = try resolvers()
        request.dnsTimeout = timeout
        request.checkCAA = !noCAACheck
    }
}
