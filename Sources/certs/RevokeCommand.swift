import ArgumentParser
import CertsCore

struct RevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke the live certificate NAME at the CA that issued it (ACME).",
        discussion: "Uses the CA, trust bundle and account recorded in <store>/renewal/NAME.json; --acme and --ca-bundle override them. Reasons (RFC 5280): 0 unspecified, 1 keyCompromise, 3 affiliationChanged, 4 superseded, 5 cessationOfOperation."
    )

    @Argument(help: ArgumentHelp("Store name.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("RFC 5280 reason code (0, 1, 3, 4, 5).", valueName: "n"))
    var reason: Int?

    @Option(help: ArgumentHelp("The CA's ACME directory URL (default: from the renewal configuration).", valueName: "url"))
    var acme: String?

    @Option(name: .customLong("ca-bundle"), help: ArgumentHelp("Trust these roots for the ACME server's HTTPS.", valueName: "file"))
    var caBundle: String?

    @OptionGroup var store: StoreOptions

    @Flag(help: "Print the result as JSON (version 1).")
    var json = false

    func run() throws {
        try CertificateStore.validate(name: name)
        if let reason, ![0, 1, 3, 4, 5].contains(reason) {
            throw InputError.invalidValue(option: "--reason", value: String(reason), reason: "use 0, 1, 3, 4 or 5 (RFC 5280 reasons ACME accepts)")
        }
        let certStore = CertificateStore(root: store.path)
        let config = try? RenewalConfig.load(store: certStore, name: name)
        guard let acmeValue = acme ?? config?.directoryURL else {
            throw InputError.invalidValue(option: "--acme", value: "", reason: "no renewal configuration for \(name): give the CA's directory URL")
        }
        let directoryURL = try ACMEShortcut.resolve(acmeValue)
        let issuer = ACMEIssuer(store: certStore, http: try acmeHTTPClient(caBundle: caBundle ?? config?.caBundle))
        let cert = try issuer.revoke(name: name, directoryURL: directoryURL, reason: reason)
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("name", .string(name)), ("serial", .string(cert.serialHex)),
                                      ("reason", reason.map { .int($0) } ?? .null), ("acme", .string(directoryURL))]).rendered())
        } else {
            Terminal.out("revoked \(name) (serial \(cert.serialHex))")
        }
    }
}
