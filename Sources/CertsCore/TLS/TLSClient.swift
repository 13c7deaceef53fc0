#if canImport(Glibc)
import Glibc
#endif

/// What a TLS server presented in one handshake: its certificates in the order sent (leaf first)
/// and how the connection was made.
public struct ServedChain: @unchecked Sendable {
    /// The endpoint as asked for (`example.com:443`).
    public let endpoint: Endpoint
    /// The address actually connected to (`192.0.2.1:443`, `[::1]:443`).
    public let address: String
    /// The SNI name sent, nil when none (IP literal without --sni).
    public let sni: String?
    /// Negotiated protocol, as OpenSSL names it ("TLSv1.3").
    public let protocolVersion: String
    /// Negotiated cipher suite, OpenSSL's name ("TLS_AES_256_GCM_SHA384").
    public let cipher: String
    /// The key-exchange group ("X25519", "secp256r1", "ffdhe2048", "DH-1024"); nil when there
    /// was none (RSA key exchange) or OpenSSL does not say.
    public var group: String? = nil
    /// The certificates the server sent, in its order; the first is the leaf.
    public let certificates: [Certificate]

    public var leaf: Certificate { certificates[0] }
}

/// A TLS client that only looks: it completes a handshake without verifying anything
/// (SSL_VERIFY_NONE, security level 0, so weak servers can still be examined) and returns what
/// the server presented. Verification is a separate step (`ChainVerifier`) on the result.
///
/// One client (one SSL_CTX) can fetch from many servers, in turn or from several threads at once
/// (`certs check` shares one across its endpoints: an SSL_CTX costs ~1.2M instructions to build).
public final class TLSClient: @unchecked Sendable {
    let context: TLSContext

    public init() throws {
        TLSClient.ignoreSIGPIPE()
        context = try Self.makeContext(permissive: false)
    }

    /// A second context that offers TLS 1.0 and 1.1 with every cipher at security level 0 (a
    /// system policy may forbid them in the first): only to learn what an old server speaks,
    /// after the normal handshake failed on the protocol version.
    private var permissive: TLSContext?
    private let permissiveLock = Lock()

    private func permissiveContext() throws -> TLSContext {
        try permissiveLock.withLock {
            if let permissive { return permissive }
            let context = try Self.makeContext(permissive: true)
            permissive = context
            return context
        }
    }

    private static func makeContext(permissive: Bool) throws -> TLSContext {
        do { return try TLSContext.inspectingClient(permissive: permissive) } catch let error as OpenSSLError {
            throw TLSError.setup(error.description)
        }
    }

    /// Handshake failures that mean "no protocol version in common".
    static func isProtocolVersionFailure(_ error: Error) -> Bool {
        guard case TLSError.handshake(_, let detail) = error else { return false }
        return ["unsupported protocol", "protocol version", "no protocols available", "wrong version number", "version too low"]
            .contains { detail.lowercased().contains($0) }
    }

    /// Connects to `host:port` within `timeout` seconds (resolve, connect and handshake together),
    /// sending `sni` (default: `host` unless it is an IP address), and returns the served chain.
    public func fetch(host: String, port: UInt16, sni: String? = nil, timeout: Double = 10) throws -> ServedChain {
        try fetch(Endpoint(host: host, port: port), sni: sni, timeout: timeout)
    }

    public func fetch(_ endpoint: Endpoint, sni: String? = nil, timeout: Double = 10) throws -> ServedChain {
        let deadline = Deadline(seconds: timeout)
        do {
            return try fetch(endpoint, sni: sni, deadline: deadline, context: context)
        } catch let error where Self.isProtocolVersionFailure(error) {
            // Maybe the server speaks only TLS 1.0/1.1: find out, so the report can say so.
            guard let retried = try? fetch(endpoint, sni: sni, deadline: deadline, context: try permissiveContext()) else { throw error }
            return retried
        }
    }

    private func fetch(_ endpoint: Endpoint, sni: String?, deadline: Deadline, context: TLSContext) throws -> ServedChain {
        let serverName = sni ?? (endpoint.isIPAddress ? nil : endpoint.host)
        let socket = try TCPSocket.connect(to: endpoint, deadline: deadline)
        if let proto = endpoint.startTLS {
            var dialogue = StartTLSDialogue(proto, socket: socket, deadline: deadline, serverName: serverName ?? endpoint.host)
            try dialogue.run()
        }
        let connection = try TLSConnection(context: context, socket: socket, serverName: serverName, endpoint: endpoint)
        try connection.handshake(deadline: deadline)
        let chain = connection.peerChain
        let group = connection.group
        connection.close()
        guard !chain.isEmpty else { throw TLSError.noCertificate(endpoint: socket.peerAddress) }
        return ServedChain(endpoint: endpoint, address: socket.peerAddress, sni: serverName,
                           protocolVersion: connection.protocolVersion, cipher: connection.cipher, group: group, certificates: chain)
    }

    /// One-shot convenience: a fresh client for one fetch.
    public static func fetch(host: String, port: UInt16, sni: String? = nil, timeout: Double = 10) throws -> ServedChain {
        try TLSClient().fetch(host: host, port: port, sni: sni, timeout: timeout)
    }

    /// OpenSSL writes to the socket with write(2): a peer that hangs up must not kill the process.
    static func ignoreSIGPIPE() {
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }
}
