import Foundation
import Testing

/// `certs account show | update | rollover | deactivate` against a real Pebble (RFC 8555 §7.3),
/// and `renew` re-registering with a CA that forgot the account (a restarted Pebble).
@Suite(.serialized, .enabled(if: pebbleInstalled, "needs Debian's pebble"))
struct AccountTests {
    func account(_ pebble: Pebble, _ s: Scratch, _ args: String...) throws -> RunResult {
        try certs(["account"] + args + ["--acme", pebble.directoryURL, "--ca-bundle", pebble.caBundle, "--store", s.file("store")])
    }

    @Test func showUpdateRolloverAndDeactivateAndRenewalsUseTheNewKey() throws {
        let pebble = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"]), s = Scratch()
        defer { pebble.stop() }
        let r = try certs("request", "acct.example", "--agree-tos", "--email", "one@example.org", "--acme", pebble.directoryURL,
                          "--ca-bundle", pebble.caBundle, "--store", s.file("store"), "--standalone", "--http-port", String(pebble.httpPort),
                          "--http-address", "127.0.0.1")
        #expect(r.status == 0, "\(r.stderr)")
        let host = "127.0.0.1_\(pebble.acmePort)"
        let keyPath = "store/accounts/\(host)/account.key"
        let oldKey = s.read(keyPath)

        let show = try account(pebble, s, "show", "--json")
        #expect(show.status == 0, "\(show.stderr)")
        let info = try parseJSONObject(show.stdout)
        #expect(info["status"] as? String == "valid" && info["contact"] as? [String] == ["mailto:one@example.org"], "\(info)")
        let thumb1 = try #require(info["keyThumbprint"] as? String)
        #expect((info["termsOfServiceAgreed"] as? String)?.isEmpty == false, "the agreed terms are recorded: \(info)")
        for line in pemBodyLines(oldKey) { #expect(!show.stdout.contains(line) && !show.stderr.contains(line), "key material in output") }

        let update = try account(pebble, s, "update", "--email", "two@example.org", "--json")
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try parseJSONObject(account(pebble, s, "show", "--json").stdout)["contact"] as? [String] == ["mailto:two@example.org"])

        let roll = try account(pebble, s, "rollover")
        #expect(roll.status == 0, "\(roll.stdout)\(roll.stderr)")
        let backups = s.listing("store/accounts/\(host)").filter { $0.hasSuffix(".bak") }
        #expect(backups.count == 1, "\(s.listing("store/accounts/\(host)"))")
        let backup = "store/accounts/\(host)/\(backups[0])"
        #expect(s.read(backup) == oldKey && s.mode(backup) == 0o600 && s.mode(keyPath) == 0o600)
        #expect(s.read(keyPath) != oldKey)
        for line in pemBodyLines(s.read(keyPath)) + pemBodyLines(oldKey) { #expect(!roll.stdout.contains(line), "key material in output") }
        let thumb2 = try #require(try parseJSONObject(account(pebble, s, "show", "--json").stdout)["keyThumbprint"] as? String)
        #expect(thumb2 != thumb1)

        // The CA now knows only the new key: a renewal signed with the old one would be refused.
        let renewed = try certs("renew", "acct.example", "--force", "--no-probe", "--store", s.file("store"))
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        // A second rollover keeps the first backup as it was.
        #expect(try account(pebble, s, "rollover").status == 0)
        #expect(s.listing("store/accounts/\(host)").filter { $0.hasSuffix(".bak") }.count == 2)
        #expect(s.read(backup) == oldKey)

        let refused = try account(pebble, s, "deactivate")
        #expect(refused.status == 2 && refused.stderr.contains("--yes"), "\(refused.stderr)")
        let gone = try account(pebble, s, "deactivate", "--yes", "--json")
        #expect(gone.status == 0, "\(gone.stderr)")
        #expect(try parseJSONObject(gone.stdout)["status"] as? String == "deactivated", "\(gone.stdout)")
    }

    @Test func renewRegistersAgainWithACAThatForgotTheAccountUnderTheAgreedTermsOnly() throws {
        let ca = try ARITests.ARICA(["start": 30 * 86400, "end": 31 * 86400]), s = Scratch()
        defer { ca.stop() }
        #expect(try ca.request(s, "forgot.example").status == 0)
        let host = "127.0.0.1_\(ca.port)"
        let before = try parseJSONObject(s.read("store/accounts/\(host)/account.json"))

        // The CA restarts with an empty database behind the same directory URL.
        let fresh = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"])
        defer { fresh.stop() }
        try ca.configure(["start": 30 * 86400, "end": 31 * 86400, "upstream_port": fresh.acmePort, "upstream_ca": fresh.caBundle])
        // Pebble validates on its own httpPort: answer there.
        try rewriteStandalonePort(s, "forgot.example", fresh.httpPort)
        let renewed = try certs("renew", "forgot.example", "--force", "--no-probe", "--verbose", "--store", s.file("store"))
        #expect(renewed.status == 0, "\(renewed.stdout)\(renewed.stderr)")
        #expect(renewed.stderr.contains("registering again"), "\(renewed.stderr)")
        let after = try parseJSONObject(s.read("store/accounts/\(host)/account.json"))
        #expect(after["url"] as? String != before["url"] as? String)
        #expect(after["termsOfServiceAgreed"] as? String == before["termsOfServiceAgreed"] as? String)

        // Forgotten again, and the terms the user agreed to are not the CA's any more: a clear refusal.
        let third = try Pebble(environment: ["PEBBLE_WFE_NONCEREJECT": "0"])
        defer { third.stop() }
        try ca.configure(["start": 30 * 86400, "end": 31 * 86400, "upstream_port": third.acmePort, "upstream_ca": third.caBundle])
        try rewriteStandalonePort(s, "forgot.example", third.httpPort)
        var record = after
        record["termsOfServiceAgreed"] = "https://ca.example/terms-2019.pdf"
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: s.file("store/accounts/\(host)/account.json")))
        let liveBefore = s.read("store/live/forgot.example/cert.pem")
        let refused = try certs("renew", "forgot.example", "--force", "--no-probe", "--store", s.file("store"))
        #expect(refused.status == 2, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("terms of service are now") && refused.stderr.contains("you agreed to https://ca.example/terms-2019.pdf"), "\(refused.stderr)")
        #expect(s.read("store/live/forgot.example/cert.pem") == liveBefore, "nothing new in live/")
    }

    /// The renewal configuration's standalone port (each Pebble validates on its own httpPort).
    func rewriteStandalonePort(_ s: Scratch, _ name: String, _ port: Int) throws {
        let path = s.file("store/renewal/\(name).json")
        var config = try parseJSONObject(s.read("store/renewal/\(name).json"))
        var challenge = config["challenge"] as? [String: Any] ?? [:]
        challenge["port"] = port
        config["challenge"] = challenge
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
    }
}
