internal import COpenSSL

/// The server side of TLS, as far as certs needs one: the TLS-ALPN-01 responder (RFC 8737).
/// The context speaks TLS 1.2 and 1.3, negotiates only the `acme-tls/1` protocol and refuses
/// (no_application_protocol alert) a ClientHello that does not offer it. It holds no certificate:
/// each handshake stops at the certificate step until the caller picks one for the SNI name
/// (`TLSServerHandshake.Progress.needsCertificate`). The callbacks are C (shim.h); no Swift runs
/// inside OpenSSL and no pointer leaves these two classes.
final class ACMETLSServerContext: @unchecked Sendable {
    fileprivate let pointer: OpaquePointer  // SSL_CTX

    init() throws {
        TLSClient.ignoreSIGPIPE()
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else {
            throw TLSError.setup(OpenSSLError.drain("creating the TLS server context").description)
        }
        pointer = ctx
        // RFC 8737 §4: "TLS 1.2 or higher".
        _ = certs_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        certs_SSL_CTX_serve_acme_tls_1(ctx)
    }

    deinit { SSL_CTX_free(pointer) }
}

/// One server handshake over a non-blocking socket the caller owns (and closes).
final class TLSServerHandshake {
    enum Progress: Equatable {
        case wantRead, wantWrite
        /// The client's SNI name (nil: it sent none): call `use(certificate:key:)` and advance again.
        case needsCertificate(serverName: String?)
        case done
        case failed(String)
    }

    private let pointer: OpaquePointer  // SSL

    init(context: ACMETLSServerContext, fd: Int32) throws {
        OpenSSLError.clear()
        guard let ssl = SSL_new(context.pointer) else { throw TLSError.setup(OpenSSLError.drain("creating a TLS connection").description) }
        pointer = ssl
        guard SSL_set_fd(ssl, fd) == 1 else { throw TLSError.setup(OpenSSLError.drain("attaching the socket").description) }
        SSL_set_accept_state(ssl)
    }

    deinit { SSL_free(pointer) }

    /// Runs the handshake as far as it goes without blocking.
    func advance() -> Progress {
        OpenSSLError.clear()
        let rc = SSL_do_handshake(pointer)
        if rc == 1 { return .done }
        switch SSL_get_error(pointer, rc) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_WANT_X509_LOOKUP:
            return .needsCertificate(serverName: certs_SSL_get_servername(pointer).map { String(cString: $0) })
        case SSL_ERROR_SYSCALL, SSL_ERROR_ZERO_RETURN:
            OpenSSLError.clear()
            return .failed("the client closed the connection")
        default:
            let reasons = OpenSSLError.drain("the handshake").entries.map(\.reason).filter { !$0.isEmpty }
            return .failed(reasons.last ?? "handshake error")
        }
    }

    /// Sets the certificate and key this handshake presents; false when OpenSSL refuses them.
    func use(certificate: Certificate, key: PrivateKey) -> Bool {
        OpenSSLError.clear()
        let ok = SSL_use_certificate(pointer, certificate.pointer) == 1 && SSL_use_PrivateKey(pointer, key.pointer) == 1
        OpenSSLError.clear()
        return ok
    }

    /// The ALPN protocol chosen ("acme-tls/1"), nil before the handshake chose one.
    var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>? = nil
        var length: UInt32 = 0
        SSL_get0_alpn_selected(pointer, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// Sends close_notify once, without waiting for the peer's (RFC 8737 §3: the validator
    /// closes the connection after the handshake).
    func shutdown() {
        OpenSSLError.clear()
        _ = SSL_shutdown(pointer)
        OpenSSLError.clear()
    }
}
