import ArgumentParser
import CertsCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place that turns a core error into the line a user reads.
///
/// Core errors carry values (paths, kinds, limits) and name no flags: the same error comes from
/// commands with different options (`deploy` has no `--timeout`, `ca init` no `--key`). This file
/// adds the hint for the command that ran, naming only options that command has.
enum ErrorHints {
    /// The message for `error` as the current command (`Spelling.commandType`) should show it.
    static func message(for error: Error) -> String {
        message(for: error, flags: flags)
    }

    /// The message for `error` when the running command offers `flags` ("--force", "--key"…).
    static func message(for error: Error, flags: Set<String>) -> String {
        let base = (error as? CustomStringConvertible)?.description ?? "\(error)"
        func has(_ flag: String) -> Bool { flags.contains(flag) }
        switch error {
        case OutputError.exists:
            return base + (has("--force") ? "; use --force to replace it" : "; remove it or write somewhere else")
        case OutputError.isInput(let path, let input):
            return "\(path) is \(input), which this command reads; refusing to replace it\(has("--force") ? ", even with --force" : "") (write somewhere else)"
        case PassphraseError.required:
            return base + (has("--passphrase-file") ? ": give it with --passphrase-file or --passphrase-env" : "")
        case TLSError.timeout:
            return base + (has("--timeout") ? " (--timeout)" : "")
        case ACMEError.termsNotAgreed:
            return base + (has("--agree-tos") ? ", then add --agree-tos" : ", then run certs request with --agree-tos")
        case ACMEError.termsChanged:
            return base + (has("--agree-tos") ? " (run again with --agree-tos)" : " (run certs request again with --agree-tos)")
        case ACMEError.externalAccountRequired:
            return base + (has("--eab-kid") ? ": give --eab-kid with --eab-hmac-key-file or --eab-hmac-key-env" : "")
        case ACMEError.unsuitableChallenge(_, let wildcard):
            if wildcard { return base + (has("--dns-hook") ? ": use --dns-hook" : "") }
            return base + (has("--standalone") ? ": use --standalone, --tls-alpn or --webroot" : "")
        case ACMEError.challengePort(let challenge, _, _, let errno):
            let tls = challenge == "TLS-ALPN-01"
            if errno == EACCES, tls, has("--tls-port") { return base + "; or use --tls-port behind a port forward" }
            if errno == EACCES, !tls, has("--http-port") { return base + "; or use --http-port behind a redirect" }
            if errno == EADDRINUSE, has("--webroot") {
                return base + (tls ? "; TLS-ALPN-01 needs the port to itself: use --webroot or --dns-hook instead" : "; use --webroot instead")
            }
            return base
        case CAError.alreadyExists(let directory):
            return "a CA already exists in \(directory)"
                + (has("--force") ? "; use --force to replace it (certificates it issued will no longer verify)" : "")
        case ChainError.noLeaf, ChainError.ambiguousLeaf:
            return base + (has("--key") ? ": give it with --key" : "")
        default:
            return base
        }
    }

    /// The long options of the command that ran, read from its help (hidden ones included).
    static var flags: Set<String> { options(of: Spelling.commandType) }

    static func options(of command: ParsableCommand.Type) -> Set<String> {
        var out: Set<String> = []
        for line in Certs.helpMessage(for: command, includeHidden: true, columns: 200).split(separator: "\n") {
            let trimmed = line.drop { $0 == " " }
            guard trimmed.hasPrefix("-") else { continue }
            // "-o, --out <out>   Write …": the names come before the first double space.
            let names = trimmed.split(separator: "  ", maxSplits: 1).first ?? trimmed
            for word in names.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "/" }) where word.hasPrefix("--") {
                out.insert(String(word.prefix { $0 != "=" && $0 != "<" }))
            }
        }
        return out
    }

    /// "did you mean --endpoint?" for a mistyped long option of the running command, if one is near
    /// (check reads unknown options itself, for its UNKNOWN exit code; ArgumentParser's own
    /// "Unknown option" error already carries a "Did you mean" for every other command).
    static func didYouMean(_ typed: String) -> String? {
        let name = typed.split(separator: "=", maxSplits: 1).first.map(String.init) ?? typed
        guard name.hasPrefix("--"), let guess = Spelling.closest(name, in: flags.sorted()) else { return nil }
        return "did you mean \(guess)?"
    }
}
