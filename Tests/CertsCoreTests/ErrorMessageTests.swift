import Testing
@testable import CertsCore
#if canImport(Glibc)
import Glibc
#endif

/// Core errors carry values and name no command-line flags: the CLI (Sources/certs/ErrorHints.swift)
/// adds the hint for the command that ran, so no command shows a flag it does not have.
@Suite struct ErrorMessageTests {
    /// Every case of every core error type, built with plain values (none of them containing "--").
    static var everyCase: [CertsFailure] {
        let p = "/tmp/x.pem"
        var all: [CertsFailure] = [
            InputError.notFound(path: p), InputError.isDirectory(path: p), InputError.empty(path: p), InputError.unreadable(path: p, reason: "EACCES"),
            InputError.tooLarge(path: p, limit: 4 << 20), InputError.unrecognized(path: p, detail: "no PEM"),
            InputError.wrongContent(path: p, expected: "a private key", found: "a certificate"),
            InputError.malformed(path: p, what: "certificate", detail: "bad"), InputError.invalidValue(option: "key type", value: "x", reason: "unknown"),
            PassphraseError.required(path: p), PassphraseError.wrong(path: p), PassphraseError.source("environment variable X is empty"),
            OutputError.exists(path: p), OutputError.isInput(path: p, input: "the stack file"), OutputError.directoryMissing(path: p), OutputError.cannotWrite(path: p, reason: "EROFS"),
            StoreError.keyMismatch(name: "a"), StoreError.liveIsDirectory(path: p), StoreError.nothingToRollBack(name: "a"), StoreError.notFound(name: "a", store: "certs"),
            MetricsServerError.listen(address: "127.0.0.1:9", reason: "in use"),
            SubprocessError.spawn("nginx -t", "ENOENT"), JWSError.unsupportedKey("Ed25519"), RevocationError.notACRL(source: p),
            HTTPError.invalidURL(url: "x", reason: "no scheme"), HTTPError.invalidHeader(name: "a", reason: "b"), HTTPError.connect(host: "h", detail: "d"),
            HTTPError.tls(host: "h", detail: "d"), HTTPError.timeout(host: "h", phase: "connect", seconds: 10), HTTPError.protocolError(host: "h", detail: "d"),
            HTTPError.tooLarge(host: "h", limit: 1 << 20), HTTPError.setup("d"),
            HopError.noHop,
            CAError.alreadyExists(directory: "ca"), CAError.notInitialized(directory: "ca"), CAError.keyMismatch(path: p), CAError.noNames, CAError.badValidity,
            CAError.outlivesCA(caNotAfter: 0), CAError.notIssuedHere(subject: "CN=a"),
            ChainError.noCertificates, ChainError.noLeaf, ChainError.ambiguousLeaf(subjects: ["a", "b"]),
            TLSError.resolve(host: "h", reason: "r"), TLSError.connect(endpoint: "h:443", reason: "refused"),
            TLSError.timeout(endpoint: "h:443", phase: "connect", seconds: 10), TLSError.closed(endpoint: "h:443", phase: "the handshake"),
            TLSError.handshake(endpoint: "h:443", detail: "d"), TLSError.noCertificate(endpoint: "h:443"),
            TLSError.startTLS(endpoint: "h:25", protocol: "SMTP", detail: "d"), TLSError.setup("d"),
            ACMEError.protocolViolation("d"), ACMEError.httpStatus(url: "https://a", status: 500, body: "b"), ACMEError.timedOut(what: "the order", seconds: 60),
            ACMEError.authorizationFailed(identifier: "a", detail: "d"), ACMEError.orderInvalid(detail: "d"),
            ACMEError.noSupportedChallenge(identifier: "a", wanted: "http-01", offered: []), ACMEError.termsNotAgreed(url: "https://a/tos"),
            ACMEError.externalAccountRequired, ACMEError.hookFailed(action: "add", name: "_acme-challenge.a", detail: "d"), ACMEError.challengeServer("d"),
            ACMEError.challengePort(challenge: "HTTP-01", endpoint: "0.0.0.0:80", reason: "permission denied", errno: EACCES),
            ACMEError.challengePort(challenge: "TLS-ALPN-01", endpoint: "0.0.0.0:443", reason: "in use", errno: EADDRINUSE),
            ACMEError.unsuitableChallenge(identifier: "*.a", wildcard: true), ACMEError.unsuitableChallenge(identifier: "192.0.2.1", wildcard: false),
            ACMEError.noAccount("d"), ACMEError.termsChanged(agreed: "https://a/1", current: "https://a/2"), ACMEError.termsChanged(agreed: nil, current: "https://a/2"),
            ACMEError.everyCAFailed(["a: d"], last: .remote), ACMEError.invalidRequest("d"),
            Interrupted(signal: SIGINT, subject: "the nginx config", restored: true),
            Interrupted(signal: SIGTERM, subject: "the nginx config", restored: false),
            StackError(source: "stack.yaml", mark: nil, message: "m"),
        ]
        all.append(ACMEProblem(type: "urn:ietf:params:acme:error:malformed", detail: "d", subproblems: []))
        return all
    }

    @Test func coreErrorDescriptionsNameNoFlags() {
        for failure in Self.everyCase {
            #expect(!failure.description.contains("--"), "\(type(of: failure)): \(failure.description)")
            #expect(!failure.description.contains("\n"), "\(failure.description)")
        }
    }

    @Test func theCatalogueCoversEveryFailureTypeOfTheCore() {
        let names = Set(Self.everyCase.map { "\(type(of: $0))" })
        for expected in ["InputError", "PassphraseError", "OutputError", "StoreError", "TLSError", "ACMEError", "CAError", "ChainError",
                         "HTTPError", "HopError", "SubprocessError", "JWSError", "RevocationError", "MetricsServerError", "Interrupted",
                         "StackError", "ACMEProblem"] {
            #expect(names.contains(expected), "\(expected)")
        }
    }
}
