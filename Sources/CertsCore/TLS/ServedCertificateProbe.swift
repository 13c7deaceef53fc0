/// "Served certificate = file": connects to a server with SNI and checks that it now serves
/// `expected` as its leaf, retrying for a while (nginx workers pick up a reload gradually).
/// Used after every deploy and every renewal, and by `certs check` for store certificates.
public struct ServedCertificateProbe: Sendable {
    public var address: String
    public var port: UInt16
    /// How long to keep retrying before calling it a failure.
    public var timeout: Double
    /// Each handshake's own limit.
    public var handshakeTimeout: Double

    public init(address: String, port: UInt16, timeout: Double = 10, handshakeTimeout: Double = 5) {
        self.address = address
        self.port = port
        self.timeout = timeout
        self.handshakeTimeout = handshakeTimeout
    }

    /// nil when `address:port` with SNI `name` serves `expected`; else what it serves instead, in words.
    public func problem(name: String, expected: Certificate) -> String? {
        let deadline = Subprocess.monotonicSeconds() + timeout
        var last = ""
        repeat {
            do {
                let served = try TLSClient.fetch(host: address, port: port, sni: name, timeout: handshakeTimeout)
                if served.leaf == expected { return nil }
                last = "\(Endpoint(host: address, port: port)) with SNI \(name) serves \(Self.describe(served.leaf)), "
                    + "not the store's certificate (\(Self.describe(expected)))"
            } catch {
                last = "\(Endpoint(host: address, port: port)) with SNI \(name): \(error)"
            }
            pause(0.2)
        } while Subprocess.monotonicSeconds() < deadline
        return last
    }

    static func describe(_ c: Certificate) -> String {
        "\(c.subject), \(c.fingerprint().prefix(8).hexString)…, until \(RFC3339.format(c.notAfter))"
    }
}
