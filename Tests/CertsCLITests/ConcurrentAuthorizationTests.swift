import CertsCore
import Foundation
import Testing

/// The authorizations of one order are validated on threads of their own (issue 14), in this
/// process so that ThreadSanitizer (scripts/test) sees the shared ACME client: its nonce pool,
/// the standalone responder and the log. Pebble rejects a share of nonces (badNonce), so the
/// threads also retry on nonces other threads put back.
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct ConcurrentAuthorizationTests {
    @Test func fiveNamesOfOneOrderValidateConcurrentlyThroughOneClient() throws {
        let pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "15"])
        let s = Scratch()
        let roots = try Certificate.parseAll(try FileSystem.read(pebble.caBundle), source: pebble.caBundle)
        let http = try HTTPClient(trust: try TrustStore.certificates(roots, origin: "pebble"), timeout: 30)
        let lines = Locked<[String]>([])
        var issuer = ACMEIssuer(store: CertificateStore(root: s.file("store")), http: http)
        issuer.log = { line in lines.withValue { $0.append(line) } }
        let names = (1...5).map { "n\($0).concurrent.example" }
        var request = IssuanceRequest(directoryURL: pebble.directoryURL, identifiers: try names.map { try ACMEIdentifier(parsing: $0) },
                                      method: .standalone(address: "127.0.0.1", port: UInt16(pebble.httpPort)), agreeToTerms: true,
                                      name: "concurrent")
        request.dnsResolvers = [DNSServer(address: "127.0.0.1", port: UInt16(pebble.dnsPort))]
        let result = try issuer.issue(request)
        #expect(Set(result.certificate.subjectAlternativeNames) == Set(names.map { GeneralName.dns($0) }))
        let log = lines.current
        for name in names {
            #expect(log.contains("\(name): valid"), "\(log)")
            #expect(log.contains("\(name): no CAA records up to the top-level domain; any CA may issue"), "\(log)")
        }
    }
}
