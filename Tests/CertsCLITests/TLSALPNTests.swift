import Foundation
import Testing

/// `certs request --tls-alpn` (RFC 8737) against strict Pebble, which validates TLS-ALPN-01 on its
/// `tlsPort` (names resolve to 127.0.0.1 through challtestsrv; IP identifiers are dialled directly
/// with their reverse name in SNI, RFC 8738 §6).
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct TLSALPNTests {
    @Test func namesAndAnIPAreIssuedOverTLSALPNAndRenewRepeatsTheMethod() throws {
        let pebble = try Pebble(), s = Scratch()
        let r = try certs("request", "alpn.example", "www.alpn.example", "127.0.0.1", "--agree-tos", "--acme", pebble.directoryURL,
                          "--ca-bundle", pebble.caBundle, "--store", s.file("store"),
                          "--tls-alpn", "--tls-port", String(pebble.tlsPort), "--tls-address", "127.0.0.1")
        #expect(r.status == 0, "\(r.stderr)\n\(pebble.log)")
        #expect(s.listing("store/archive/alpn.example") == ["0001"])
        let record = try parseJSONObject(s.read("store/renewal/alpn.example.json"))
        let challenge = record["challenge"] as? [String: Any]
        #expect(challenge?["method"] as? String == "tls-alpn", "\(record)")
        #expect(challenge?["port"] as? Int == pebble.tlsPort)
        #expect(challenge?["address"] as? String == "127.0.0.1")
        // Nothing listens on Pebble's httpPort and there is no DNS record: only the acme-tls/1
        // certificates can have validated the three identifiers.

        let renewed = try certs("renew", "alpn.example", "--force", "--no-probe", "--store", s.file("store"))
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        #expect(s.listing("store/archive/alpn.example") == ["0001", "0002"])
    }

    @Test func aWildcardOrABusyPortIsOneLineWithTheUsageCodeAndNothingInLive() throws {
        let s = Scratch()
        let wildcard = try certs("request", "*.alpn.example", "--acme", "https://127.0.0.1:1/dir", "--store", s.file("store"), "--tls-alpn")
        #expect(wildcard.status == 2, "\(wildcard.stderr)")
        #expect(wildcard.stderr.contains("wildcard") && wildcard.stderr.split(separator: "\n").count == 1, "\(wildcard.stderr)")

        // Something already listens on the TLS port: refused before any ACME traffic.
        let busy = try ListeningPort()
        let taken = try certs("request", "busy.alpn.example", "--acme", "https://127.0.0.1:1/dir", "--store", s.file("store"),
                              "--tls-alpn", "--tls-port", String(busy.port), "--tls-address", "127.0.0.1")
        #expect(taken.status != 0 && taken.stderr.contains("cannot listen on 127.0.0.1:\(busy.port)"), "\(taken.stderr)")
        #expect(taken.stderr.contains("TLS-ALPN-01 needs the port to itself"), "\(taken.stderr)")
        #expect(!s.exists("store/live/busy.alpn.example"))

        let both = try certs("request", "x.alpn.example", "--acme", "https://127.0.0.1:1/dir", "--store", s.file("store"), "--tls-alpn", "--standalone")
        #expect(both.status == 2 && both.stderr.contains("--tls-alpn"), "\(both.stderr)")
    }
}

/// A TCP listener on 127.0.0.1 (port 0, read back) held for a test's lifetime.
final class ListeningPort {
    let fd: Int32
    let port: Int
    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 1) == 0 else { throw HarnessError("cannot listen on 127.0.0.1") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
    }
    deinit { close(fd) }
}
