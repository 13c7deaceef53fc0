import CertsCore
import Dispatch
import Foundation
import Testing

/// `openssl s_server` bound to port 0 on loopback: it prints `ACCEPT 127.0.0.1:PORT` once it
/// listens, so there is no free-port race. Stopped by pid.
final class PortZeroTLSServer {
    let process = Process()
    private(set) var port = 0

    init(cert: String, key: String, chain: String? = nil, extra: [String] = []) throws {
        var args = ["s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-www"]
        if let chain { args += ["-cert_chain", chain] }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = args + extra
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let found = DispatchSemaphore(value: 0)
        final class Box: @unchecked Sendable { var text = ""; var port = 0; var signalled = false }
        let box = Box()
        let lock = NSLock()
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            lock.lock(); defer { lock.unlock() }
            guard !box.signalled else { return }  // keep draining, so the pipe never fills
            if data.isEmpty { box.signalled = true; found.signal(); return }
            box.text += String(decoding: data, as: UTF8.self)
            if let line = box.text.split(separator: "\n").first(where: { $0.hasPrefix("ACCEPT ") }),
               let p = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                box.port = p
                box.signalled = true
                found.signal()
            }
        }
        _ = found.wait(timeout: .now() + 10)
        lock.lock(); port = box.port; lock.unlock()
        guard port > 0 else {
            stop()
            throw VerifyTestError("openssl s_server did not report its port")
        }
    }

    deinit { stop() }

    var endpoint: String { "127.0.0.1:\(port)" }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// A root, intermediates and leaves made with CertsCore at the real current time (the CLI reads the clock).
struct ServedPKI {
    let s: Scratch
    let now = Int64(Date().timeIntervalSince1970)
    let rootKey: PrivateKey
    let root: Certificate

    init(_ s: Scratch) throws {
        self.s = s
        rootKey = try PrivateKey.generate(.ecP256)
        var b = CertificateBuilder(subject: DistinguishedName(commonName: "Served Root"), publicKey: rootKey.publicKey,
                                   notBefore: now - 400 * 86400, notAfter: now + 3650 * 86400)
        b.isCA = true
        root = try b.sign(with: rootKey)
        _ = s.write("root.pem", bytes: try root.pem())
    }

    func ca(_ cn: String, issuer: Certificate, issuerKey: PrivateKey, notBefore: Int64? = nil, notAfter: Int64? = nil) throws -> (Certificate, PrivateKey) {
        let key = try PrivateKey.generate(.ecP256)
        var b = CertificateBuilder(subject: DistinguishedName(commonName: cn), publicKey: key.publicKey,
                                   notBefore: notBefore ?? now - 300 * 86400, notAfter: notAfter ?? now + 1000 * 86400)
        b.isCA = true
        b.issuer = issuer
        return (try b.sign(with: issuerKey), key)
    }

    /// Writes NAME.pem, NAME.key and NAME-chain.pem (the chain in the given order).
    func leaf(_ name: String, issuer: Certificate, issuerKey: PrivateKey, chain: [Certificate], notBefore: Int64? = nil) throws -> (cert: String, key: String, chain: String) {
        let key = try PrivateKey.generate(.ecP256)
        let start = notBefore ?? now - 86400
        let cert = try CertificateBuilder.server(names: [.dns("localhost"), .ip("127.0.0.1")], publicKey: key.publicKey,
                                                 notBefore: start, notAfter: start + 80 * 86400, issuer: issuer).sign(with: issuerKey)
        let chainPEM = try chain.flatMap { try $0.pem() }
        let keyPath = s.write("\(name).key", bytes: try key.pem())
        return (s.write("\(name).pem", bytes: try cert.pem()), keyPath, s.write("\(name)-chain.pem", bytes: chainPEM))
    }
}

@Suite(.serialized) struct ServedChainTests {
    func verifyConnect(_ server: PortZeroTLSServer, _ pki: ServedPKI) throws -> (RunResult, [String: Any]) {
        let r = try certs("verify", "--connect", server.endpoint, "--trust", pki.s.file("root.pem"), "--json")
        return (r, try #require(try verifyJSON(r).first, "\(r.stdout)\(r.stderr)"))
    }

    func checkEndpoint(_ server: PortZeroTLSServer, _ pki: ServedPKI) throws -> (RunResult, [String: Any]) {
        let r = try certs("check", "--endpoint", server.endpoint, "--trust", pki.s.file("root.pem"), "--json")
        return (r, try #require(results(try checkJSON(r)).first, "\(r.stdout)\(r.stderr)"))
    }

    func problemCodes(_ result: [String: Any]) -> [String] {
        ((result["problems"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
    }

    @Test func outOfOrderServedChainIsValidWithAWarning() throws {
        let s = Scratch(), pki = try ServedPKI(s)
        let (a, aKey) = try pki.ca("A", issuer: pki.root, issuerKey: pki.rootKey)
        let (a2, a2Key) = try pki.ca("A2", issuer: a, issuerKey: aKey)
        // Served: leaf, A, A2 (A2 is issued by A).
        let bad = try pki.leaf("leaf", issuer: a2, issuerKey: a2Key, chain: [a, a2])
        let server = try PortZeroTLSServer(cert: bad.cert, key: bad.key, chain: bad.chain)
        let (r, result) = try verifyConnect(server, pki)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(verifyCodes(result, "warnings").contains("chain-order"), "\(result)")
        let connection = try #require(result["connection"] as? [String: Any])
        #expect(connection["protocol"] as? String == "TLSv1.3")
        #expect((connection["group"] as? String)?.isEmpty == false, "\(connection)")
        let (c, checked) = try checkEndpoint(server, pki)
        #expect(c.status == 0, "OK: order is not a failure; \(c.stdout)")
        #expect((checked["chainWarnings"] as? [String])?.contains("chain-order") == true, "\(checked)")
        #expect(problemCodes(checked).contains("chain-order"))
        let table = try certs("check", "--endpoint", server.endpoint, "--trust", s.file("root.pem"))
        #expect(table.stdout.contains("chain-order"), "NOTES shows it: \(table.stdout)")
        server.stop()

        // Twin: in order, no warning.
        let good = try pki.leaf("good", issuer: a2, issuerKey: a2Key, chain: [a2, a])
        let server2 = try PortZeroTLSServer(cert: good.cert, key: good.key, chain: good.chain)
        let (r2, result2) = try verifyConnect(server2, pki)
        #expect(r2.status == 0)
        #expect(verifyCodes(result2, "warnings") == [], "\(result2)")
    }

    @Test func serverThatSpeaksOnlyTLS10IsAnError() throws {
        let s = Scratch(), pki = try ServedPKI(s)
        let (i, iKey) = try pki.ca("Issuing", issuer: pki.root, issuerKey: pki.rootKey)
        let leaf = try pki.leaf("leaf", issuer: i, issuerKey: iKey, chain: [i])
        let old = try PortZeroTLSServer(cert: leaf.cert, key: leaf.key, chain: leaf.chain,
                                        extra: ["-no_tls1_2", "-no_tls1_3", "-no_tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        let (r, result) = try verifyConnect(old, pki)
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(verifyCodes(result, "errors") == ["obsolete-protocol"], "\(result)")
        #expect(verifyMessage(result, "errors", code: "obsolete-protocol").contains("TLS 1.0"))
        #expect((result["connection"] as? [String: Any])?["protocol"] as? String == "TLSv1")
        let (c, checked) = try checkEndpoint(old, pki)
        #expect(c.status == 2, "CRITICAL: \(c.stdout)")
        #expect(checked["chainValid"] as? Bool == false)
        old.stop()
        // Twin: the same certificate on a current server.
        let current = try PortZeroTLSServer(cert: leaf.cert, key: leaf.key, chain: leaf.chain)
        let (r2, result2) = try verifyConnect(current, pki)
        #expect(r2.status == 0, "\(result2)")
        #expect(try checkEndpoint(current, pki).0.status == 0)
    }

    @Test func notYetValidServedLeafIsInvalidAndCritical() throws {
        let s = Scratch(), pki = try ServedPKI(s)
        let (i, iKey) = try pki.ca("Issuing", issuer: pki.root, issuerKey: pki.rootKey)
        let future = try pki.leaf("future", issuer: i, issuerKey: iKey, chain: [i], notBefore: pki.now + 5 * 86400)
        let server = try PortZeroTLSServer(cert: future.cert, key: future.key, chain: future.chain)
        let (r, result) = try verifyConnect(server, pki)
        #expect(r.status == 1)
        #expect(verifyCodes(result, "errors") == ["not-yet-valid"], "\(result)")
        let (c, checked) = try checkEndpoint(server, pki)
        #expect(c.status == 2, "CRITICAL, not OK: \(c.stdout)")
        #expect(checked["chainValid"] as? Bool == false)
        #expect(checked["chainErrors"] as? [String] == ["not-yet-valid"])
        // The same file: check says CRITICAL too, never "chainValid: true" beside "not-yet-valid".
        let file = s.write("future-full.pem", s.read("future.pem") + s.read("future-chain.pem"))
        let f = try certs("check", "--trust", s.file("root.pem"), "--json", file)
        let fileResult = try #require(results(try checkJSON(f)).first)
        #expect(f.status == 2, "\(f.stdout)")
        #expect(fileResult["chainValid"] as? Bool == false)
    }

    @Test func expiredServedIntermediateIsInvalidAndCritical() throws {
        let s = Scratch(), pki = try ServedPKI(s)
        let (i, iKey) = try pki.ca("Issuing", issuer: pki.root, issuerKey: pki.rootKey, notBefore: pki.now - 300 * 86400, notAfter: pki.now - 86400)
        let leaf = try pki.leaf("leaf", issuer: i, issuerKey: iKey, chain: [i])
        let server = try PortZeroTLSServer(cert: leaf.cert, key: leaf.key, chain: leaf.chain)
        let (r, result) = try verifyConnect(server, pki)
        #expect(r.status == 1)
        #expect(verifyCodes(result, "errors") == ["expired"], "\(result)")
        #expect(verifyMessage(result, "errors", code: "expired").contains("intermediate"))
        let (c, checked) = try checkEndpoint(server, pki)
        #expect(c.status == 2, "CRITICAL whatever the leaf's days left: \(c.stdout)")
        #expect(checked["chainErrors"] as? [String] == ["expired"])
    }
}

/// One engine: the same certificate gets the same verdict from verify, check and install.
@Suite struct SameVerdictTests {
    @Test func verifyCheckAndInstallAgreeOnABadAndAGoodCertificate() throws {
        let s = Scratch(), pki = try ServedPKI(s)
        let (i, iKey) = try pki.ca("Issuing", issuer: pki.root, issuerKey: pki.rootKey)
        let good = try pki.leaf("good", issuer: i, issuerKey: iKey, chain: [i])
        // Not valid for five more days: install used to take it, check called it OK.
        let bad = try pki.leaf("bad", issuer: i, issuerKey: iKey, chain: [i], notBefore: pki.now + 5 * 86400)
        let root = s.file("root.pem")
        for (name, files, valid) in [("good", good, true), ("bad", bad, false)] {
            let full = s.write("\(name)-full.pem", s.read("\(name).pem") + s.read("\(name)-chain.pem"))
            let v = try certs("verify", "--trust", root, full)
            #expect(v.status == (valid ? 0 : 1), "verify \(name): \(v.stdout)\(v.stderr)")
            let c = try certs("check", "--trust", root, full)
            #expect(c.status == (valid ? 0 : 2), "check \(name): \(c.stdout)")
            let inst = try certs("install", name, "--cert", files.cert, "--chain", files.chain, "--key", files.key,
                                 "--trust", root, "--store", s.file("store"))
            #expect(inst.status == (valid ? 0 : 1), "install \(name): \(inst.stdout)\(inst.stderr)")
            if !valid {
                #expect(inst.stderr.contains("not-yet-valid"), "\(inst.stderr)")
                #expect(!s.exists("store/live/\(name)"), "nothing installed")
                // Without --trust the roots are not judged, the certificate still is.
                let noTrust = try certs("install", name, "--cert", files.cert, "--chain", files.chain, "--key", files.key, "--store", s.file("store"))
                #expect(noTrust.status == 1, "\(noTrust.stderr)")
            }
        }
    }
}
