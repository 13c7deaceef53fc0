internal import COpenSSL

/// An owning wrapper over a client `SSL_CTX`: the settings every connection made from it shares.
/// Built once and shared by many connections, from several threads (OpenSSL locks it internally).
final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer  // SSL_CTX

    private init(owning pointer: OpaquePointer) { self.pointer = pointer }
    deinit { SSL_CTX_free(pointer) }

    /// A client that only looks (`TLSClient`): no verification (SSL_VERIFY_NONE) and security
    /// level 0, so weak servers can still be examined. `permissive` also offers TLS 1.0 and 1.1
    /// with every cipher, which a system policy may forbid by default.
    static func inspectingClient(permissive: Bool = false) throws -> TLSContext {
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw OpenSSLError.drain("creating the TLS context")
        }
        let context = TLSContext(owning: ctx)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        // Connect even to servers with 1024-bit keys or SHA-1: reporting them is the point.
        SSL_CTX_set_security_level(ctx, 0)
        if permissive {
            _ = certs_SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION)
            _ = SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")
            OpenSSLError.clear()
        }
        return context
    }

    /// A client that verifies (`HTTPClient`): the server's chain against `trust` (nil: the shared
    /// system store) and, per connection, its name; TLS 1.2 or later; a peer closing without
    /// close_notify is end of stream.
    static func verifyingClient(trust: TrustStore?) throws -> TLSContext {
        OpenSSLError.clear()
        guard let ctx = SSL_CTX_new(TLS_client_method()) else {
            throw OpenSSLError.drain("creating the TLS context")
        }
        let context = TLSContext(owning: ctx)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        // Framing comes from Content-Length / chunked; a peer that closes without close_notify after
        // a complete response is common and harmless.
        _ = SSL_CTX_set_options(ctx, UInt64(1) << 7)  // SSL_OP_IGNORE_UNEXPECTED_EOF
        if let trust {
            SSL_CTX_set1_cert_store(ctx, trust.pointer)
        } else {
            // The process-wide in-memory store, not SSL_CTX_set_default_verify_paths: its directory
            // lookup lists /etc/ssl/certs during every handshake.
            guard let system = try? TrustStore.sharedSystem() else {
                throw OpenSSLError.drain("loading the system trust store")
            }
            SSL_CTX_set1_cert_store(ctx, system.pointer)
        }
        return context
    }
}
