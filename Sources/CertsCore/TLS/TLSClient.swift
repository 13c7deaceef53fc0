internal import COpenSSL
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
    let context: OpaquePointer  // SSL_CTX

    public init() throws {
        TLSClient.ignoreSIGPIPE()
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.setup(OpenSSLError.drain("creating the TLS context").description)
        }
        context = ctx
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        // Connect even to servers with 1024-bit keys or SHA-1: reporting them is the point.
        SSL_CTX_set_security_level(ctx, 0)
    }

    deinit {
        SSL_CTX_free(context)
        if let permissive { SSL_CTX_free(permissive) }
    }

    /// A second context that offers TLS 1.0 and 1.1 with every cipher at security level 0 (a
    /// system policy may forbid them in the first): only to learn what an old server speaks,
    /// after the normal handshake failed on the protocol version.
    private var permissive: OpaquePointer?
    private let permissiveLock = Lock()

    private func permissiveContext() throws -> OpaquePointer {
        try permissiveLock.withLock { try makePermissiveContext() }
    }

    private func makePermissiveContext() throws -> OpaquePointer {
        if let permissive { return permissive }
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw TLSError.setup(OpenSSLError.drain("creating the TLS context").description)
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        SSL_CTX_set_security_level(ctx, 0)
        _ = certs_SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION)
        _ = SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")
        OpenSSLError.clear()
        permissive = ctx
        return ctx
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

    private func fetch(_ endpoint: Endpoint, sni: String?, deadline: Deadline, context: OpaquePointer) throws -> ServedChain {
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

/// An owning wrapper over one `SSL` connection on a non-blocking socket.
final class TLSConnection {
    let pointer: OpaquePointer  // SSL
    let socket: TCPSocket
    /// The first bytes read from the server, to name what it spoke when that was not TLS.
    private let record: UnsafeMutablePointer<certs_read_record>

    /// The endpoint as asked for, for hints in errors.
    let endpoint: Endpoint?

    init(context: OpaquePointer, socket: TCPSocket, serverName: String?, endpoint: Endpoint? = nil) throws {
        self.endpoint = endpoint
        OpenSSLError.clear()
        guard let ssl = SSL_new(context) else { throw TLSError.setup(OpenSSLError.drain("creating a TLS connection").description) }
        pointer = ssl
        self.socket = socket
        record = .allocate(capacity: 1)
        record.initialize(to: certs_read_record())
        guard SSL_set_fd(ssl, socket.fd) == 1, let rbio = SSL_get_rbio(ssl) else {
            throw TLSError.setup(OpenSSLError.drain("attaching the socket").description)
        }
        certs_BIO_record_reads(rbio, record)
        if let serverName {
            guard certs_SSL_set_tlsext_host_name(ssl, serverName) == 1 else {
                throw InputError.invalidValue(option: "--sni", value: serverName, reason: OpenSSLError.drain("setting SNI").description)
            }
        }
        SSL_set_connect_state(ssl)
    }

    deinit {
        SSL_free(pointer)
        record.deallocate()
    }

    /// When the server's first bytes are not a TLS record, the error that says what it spoke.
    /// OpenSSL stops after a 5-byte record header; the rest of a banner is usually already in the
    /// socket buffer, so read what arrives within a moment (bounded by the deadline).
    private func nonTLSError(deadline: Deadline) -> TLSError? {
        var seen = withUnsafeBytes(of: record.pointee.bytes) { Array($0.prefix(Int(record.pointee.count))) }
        guard !seen.isEmpty, ServerSpeech.describe(seen) != nil else { return nil }
        let moment = Deadline(seconds: min(0.2, Double(deadline.remainingMilliseconds) / 1000))
        if let more = try? socket.receive(max: 512, deadline: moment, phase: "") { seen += more }
        guard let spoke = ServerSpeech.describe(seen) else { return nil }
        return .notTLS(endpoint: socket.peerAddress, spoke: spoke, asked: endpoint)
    }

    func handshake(deadline: Deadline) throws {
        let peer = socket.peerAddress
        while true {
            OpenSSLError.clear()
            errno = 0
            let rc = SSL_connect(pointer)
            if rc == 1 { return }
            let reason = SSL_get_error(pointer, rc)
            switch reason {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                let events = Int16(reason == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT)
                guard try socket.wait(for: events, deadline: deadline) else {
                    throw TLSError.timeout(endpoint: peer, phase: "the TLS handshake", seconds: deadline.seconds)
                }
            case SSL_ERROR_SYSCALL:
                let code = errno
                if let error = nonTLSError(deadline: deadline) { throw error }
                if code == 0 || code == EPIPE || code == ECONNRESET { throw TLSError.closed(endpoint: peer, phase: "the TLS handshake") }
                throw TLSError.handshake(endpoint: peer, detail: FileSystem.errorString(code))
            case SSL_ERROR_ZERO_RETURN:
                if let error = nonTLSError(deadline: deadline) { throw error }
                throw TLSError.closed(endpoint: peer, phase: "the TLS handshake")
            default:
                let error = OpenSSLError.drain("the handshake")
                if let error = nonTLSError(deadline: deadline) { throw error }
                let reasons = error.entries.map(\.reason).filter { !$0.isEmpty }
                // OpenSSL 3 reports a peer that hangs up mid-handshake as an error, not as EOF.
                if reasons.last == "unexpected eof while reading" { throw TLSError.closed(endpoint: peer, phase: "the TLS handshake") }
                throw TLSError.handshake(endpoint: peer, detail: reasons.last ?? "error \(reason)")
            }
        }
    }

    /// The certificates the server sent, leaf first (client side: the stack includes the leaf).
    var peerChain: [Certificate] {
        guard let stack = SSL_get_peer_cert_chain(pointer) else { return [] }
        return Certificate.all(in: stack)
    }

    var protocolVersion: String { SSL_get_version(pointer).map { String(cString: $0) } ?? "unknown" }

    var cipher: String {
        guard let c = SSL_get_current_cipher(pointer), let name = SSL_CIPHER_get_name(c) else { return "unknown" }
        return String(cString: name)
    }

    /// The key-exchange group: OpenSSL's negotiated group, else the server's ephemeral key.
    var group: String? {
        let nid = certs_SSL_get_negotiated_group(pointer)
        let unknown = certs_TLSEXT_nid_unknown()
        if nid > 0 && nid & unknown == 0, let sn = OBJ_nid2sn(nid) {
            let name = String(cString: sn)
            return name == "prime256v1" ? "secp256r1" : name
        }
        if nid > 0 && nid & unknown != 0 {
            let id = nid & 0xFFFF
            let hex = String(id, radix: 16)
            return "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        }
        var key: OpaquePointer? = nil
        OpenSSLError.clear()
        guard certs_SSL_get_peer_tmp_key(pointer, &key) == 1, let key else { OpenSSLError.clear(); return nil }
        defer { EVP_PKEY_free(key) }
        let bits = Int(EVP_PKEY_get_bits(key))
        switch EVP_PKEY_get_base_id(key) {
        case EVP_PKEY_DH, EVP_PKEY_DHX: return "DH-\(bits)"
        case EVP_PKEY_X25519: return "X25519"
        case EVP_PKEY_X448: return "X448"
        case EVP_PKEY_EC: return "EC-\(bits)"
        default: return nil
        }
    }

    /// Sends close_notify without waiting for the peer's (best effort, non-blocking).
    func close() {
        OpenSSLError.clear()
        _ = SSL_shutdown(pointer)
        OpenSSLError.clear()
    }
}
