#if canImport(Glibc)
import Glibc
#endif

/// The built-in TLS-ALPN-01 responder of `certs request --tls-alpn` (RFC 8737), for hosts whose
/// port 80 is closed.
///
/// It completes a TLS handshake only for a client that offers the `acme-tls/1` protocol and
/// names, in SNI, an identifier it was given (an IP identifier by its reverse name, RFC 8738 §6),
/// presenting a self-signed certificate with that one name and the critical
/// id-pe-acmeIdentifier extension; every other handshake is refused. Like `ChallengeServer` it
/// serves on a thread of its own (`ResponderLoop`) from `start()` until `stop()`, many
/// connections at once, each with a deadline, so a CA may validate while the challenge POST is
/// still in flight.
public final class TLSALPNResponder: @unchecked Sendable {
    public static let protocolName = "acme-tls/1"
    /// id-pe-acmeIdentifier (RFC 8737 §6.1).
    public static let acmeIdentifierOID = "1.3.6.1.5.5.7.1.31"

    public let port: UInt16
    /// One key for every challenge certificate of this responder (EC P-256, never written).
    private let key: PrivateKey
    private let certificates = Locked<[String: Certificate]>([:])
    private let log = Locked<[String]>([])
    private let loop: ResponderLoop

    /// Handshakes answered or refused, for logs and tests: "acme-tls/1 a.example served".
    public var served: [String] { log.current }

    /// Binds `address` on `port` (0 picks a free one). Nothing is answered before `start()`.
    public init(address: String = "::", port: UInt16 = 443) throws {
        let context = try ACMETLSServerContext()
        let key = try PrivateKey.generate(.ecP256)
        let (listeners, bound) = try ResponderLoop.listen(address: address, port: port, challenge: "TLS-ALPN-01")
        self.port = bound
        self.key = key
        let certificates = self.certificates, log = self.log
        loop = ResponderLoop(listeners: listeners) { fd in
            TLSALPNConnection(fd: fd, context: context, key: key, certificates: certificates, log: log)
        }
    }

    /// Starts answering on a thread of its own (no-op when it runs already).
    public func start() throws { try loop.start() }

    /// Stops answering: wakes the thread, joins it and closes its connections.
    public func stop() { loop.stop() }

    /// Stops and closes the listening sockets.
    public func close() { loop.close() }

    /// Serves the challenge certificate for `identifier` from now on.
    public func add(identifier: ACMEIdentifier, keyAuthorization: String, now: Int64) throws {
        let certificate = try Self.challengeCertificate(for: identifier, keyAuthorization: keyAuthorization, key: key, now: now)
        certificates.withValue { $0[Self.serverName(for: identifier)] = certificate }
    }

    public func remove(identifier: ACMEIdentifier) { certificates.withValue { $0[Self.serverName(for: identifier)] = nil } }

    /// The SNI name a validator sends for `identifier`: the name itself, or for an IP address its
    /// reverse name (RFC 8738 §6: "4.3.2.1.in-addr.arpa", the nibbles of an IPv6 under ip6.arpa).
    public static func serverName(for identifier: ACMEIdentifier) -> String {
        guard identifier.type == "ip", let bytes = IPAddress.parse(identifier.value) else { return identifier.value.lowercased() }
        if bytes.count == 4 { return bytes.reversed().map { String($0) }.joined(separator: ".") + ".in-addr.arpa" }
        let nibbles = bytes.flatMap { [$0 >> 4, $0 & 0x0f] }
        return nibbles.reversed().map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa"
    }

    /// The DER inside id-pe-acmeIdentifier's extnValue: an OCTET STRING holding the SHA-256 of
    /// the key authorization (RFC 8737 §3: `Authorization ::= OCTET STRING (SIZE (32))`).
    public static func acmeIdentifierValue(keyAuthorization: String) -> [UInt8] {
        [0x04, 0x20] + Digest.sha256(Array(keyAuthorization.utf8))
    }

    /// The self-signed certificate served for `identifier`: its one name as the only SAN (dNSName
    /// or iPAddress) and the critical acmeIdentifier extension. Valid from a day before `now` for
    /// a week: validators do not check the dates, but a sane window keeps tools from choking.
    public static func challengeCertificate(for identifier: ACMEIdentifier, keyAuthorization: String, key: PrivateKey, now: Int64) throws -> Certificate {
        var builder = CertificateBuilder.server(names: [identifier.generalName], publicKey: key.publicKey,
                                                notBefore: now - 86400, notAfter: now + 7 * 86400, issuer: nil)
        builder.rawExtensions = [(acmeIdentifierOID, true, acmeIdentifierValue(keyAuthorization: keyAuthorization))]
        return try builder.sign(with: key)
    }
}

/// One TLS-ALPN-01 handshake, driven without blocking; closed as soon as it completed or failed.
final class TLSALPNConnection: ResponderConnection {
    let fd: Int32
    let deadline: Double
    private let handshake: TLSServerHandshake?
    private let key: PrivateKey
    private let certificates: Locked<[String: Certificate]>
    private let log: Locked<[String]>
    private var serverName: String?

    /// The whole handshake must finish within this (the HTTP-01 responder's two 5 s phases).
    static let handshakeSeconds = 10.0

    init(fd: Int32, context: ACMETLSServerContext, key: PrivateKey, certificates: Locked<[String: Certificate]>, log: Locked<[String]>) {
        self.fd = fd
        self.key = key
        self.certificates = certificates
        self.log = log
        deadline = Subprocess.monotonicSeconds() + Self.handshakeSeconds
        handshake = try? TLSServerHandshake(context: context, fd: fd)
    }

    func step() -> Int16? {
        guard let handshake else { return nil }
        while true {
            switch handshake.advance() {
            case .wantRead: return Int16(POLLIN)
            case .wantWrite: return Int16(POLLOUT)
            case .needsCertificate(let name):
                let wanted = name.map { $0.lowercased().hasSuffix(".") ? String($0.lowercased().dropLast()) : $0.lowercased() }
                guard let wanted, let certificate = certificates.withValue({ $0[wanted] }), handshake.use(certificate: certificate, key: key) else {
                    log.withValue { $0.append("\(TLSALPNResponder.protocolName) \(name ?? "(no SNI)") refused: no challenge for that name") }
                    return nil
                }
                serverName = wanted
            case .done:
                log.withValue { $0.append("\(handshake.negotiatedProtocol ?? "no ALPN") \(serverName ?? "") served") }
                handshake.shutdown()
                return nil
            case .failed(let reason):
                log.withValue { $0.append("\(serverName ?? "handshake") refused: \(reason)") }
                return nil
            }
        }
    }
}
