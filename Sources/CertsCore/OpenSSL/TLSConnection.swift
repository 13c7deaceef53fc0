internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// An owning wrapper over one `SSL` connection on a non-blocking socket.
final class TLSConnection {
    private let pointer: OpaquePointer  // SSL
    let socket: TCPSocket
    /// The first bytes read from the server, to name what it spoke when that was not TLS.
    private let record: UnsafeMutablePointer<certs_read_record>

    /// The endpoint as asked for, for hints in errors.
    let endpoint: Endpoint?

    init(context: TLSContext, socket: TCPSocket, serverName: String?, endpoint: Endpoint? = nil) throws {
        self.endpoint = endpoint
        OpenSSLError.clear()
        guard let ssl = SSL_new(context.pointer) else { throw TLSError.setup(OpenSSLError.drain("creating a TLS connection").description) }
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

    // MARK: Verifying clients (HTTPClient)

    /// Makes the handshake check the server's name: `host` as a DNS name (`SSL_set1_host`) or,
    /// when `isIPAddress`, as an IP address.
    func expectPeerName(_ host: String, isIPAddress: Bool) throws {
        OpenSSLError.clear()
        if isIPAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(pointer), host) == 1 else {
                throw OpenSSLError.drain("setting the expected IP address")
            }
        } else {
            guard SSL_set1_host(pointer, host) == 1 else { throw OpenSSLError.drain("setting the expected host name") }
        }
    }

    /// Why the handshake's certificate verification failed, nil when it did not.
    struct VerificationFailure {
        enum Kind { case nameMismatch, untrusted, other }
        let kind: Kind
        /// OpenSSL's words ("certificate has expired").
        let text: String
    }

    var verificationFailure: VerificationFailure? {
        let verify = SSL_get_verify_result(pointer)
        guard verify != X509_V_OK else { return nil }
        let text = X509_verify_cert_error_string(verify).map { String(cString: $0) } ?? "error \(verify)"
        switch Int32(verify) {
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH:
            return VerificationFailure(kind: .nameMismatch, text: text)
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
             X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            return VerificationFailure(kind: .untrusted, text: text)
        default:
            return VerificationFailure(kind: .other, text: text)
        }
    }

    /// The outcome of one non-blocking read or write.
    enum Transfer {
        case transferred(Int)
        /// close_notify (reads and writes), or the peer closed the socket (reads).
        case endOfStream
        case wantRead, wantWrite
        /// A system call failed with this errno.
        case systemError(Int32)
        /// OpenSSL failed: the last reason of its error queue.
        case failed(String)
    }

    /// Writes what it can of `bytes` without blocking.
    func write(_ bytes: UnsafeRawBufferPointer) -> Transfer {
        OpenSSLError.clear()
        var written = 0
        let rc = SSL_write_ex(pointer, bytes.baseAddress, bytes.count, &written)
        if rc == 1 { return .transferred(written) }
        let reason = SSL_get_error(pointer, rc)
        // The peer's close_notify: say so, not "error 6" from an empty error queue.
        if reason == SSL_ERROR_ZERO_RETURN { OpenSSLError.clear(); return .endOfStream }
        return failure(reason)
    }

    /// Reads up to `count` bytes into `buffer` without blocking.
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> Transfer {
        OpenSSLError.clear()
        errno = 0
        var got = 0
        let rc = SSL_read_ex(pointer, buffer, count, &got)
        if rc == 1 { return .transferred(got) }
        let reason = SSL_get_error(pointer, rc)
        if reason == SSL_ERROR_ZERO_RETURN { return .endOfStream }
        if reason == SSL_ERROR_SYSCALL && errno == 0 { return .endOfStream }
        return failure(reason)
    }

    private func failure(_ reason: Int32) -> Transfer {
        switch reason {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_SYSCALL: return .systemError(errno)
        default:
            let error = OpenSSLError.drain("the transfer")
            return .failed(error.entries.map(\.reason).filter { !$0.isEmpty }.last ?? "error \(reason)")
        }
    }

    /// Decrypted bytes are buffered inside OpenSSL, ready to read.
    var hasPendingBytes: Bool { SSL_pending(pointer) != 0 }

    /// Sends close_notify without waiting for the peer's (best effort, non-blocking).
    func close() {
        OpenSSLError.clear()
        _ = SSL_shutdown(pointer)
        OpenSSLError.clear()
    }
}
