import ArgumentParser
import CertsCore

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Find deployment pitfalls before they bite; each finding says how to fix it.",
        discussion: """
        Checks the store's certificates for the stack's domains (key permissions and readability, cert/key match, \
        missing intermediate or wrong order, names, expiry), the stack's init scripts (readable by the container \
        user: 0644), ports, the compose files next to the stack (shared network, store mounted read-only, published \
        port clashes, container IPs in environment) and the emitted nginx config (upstreams by container IP). \
        Exit codes: 0 no error finding (warnings allowed), 1 an error finding, 2 unusable input. \
        --json follows docs/json.md (version 1).
        """
    )

    @Option(help: ArgumentHelp("The stack file (default ./stack.yaml; without one only the store is checked).", valueName: "file"))
    var stack: String?

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("A compose file to check (repeatable; default: compose*.yaml next to the stack file).", valueName: "file"))
    var compose: [String] = []

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("The nginx directory holding conf.d/, as --out of emit nginx and deploy (default: nginx next to the stack file).", valueName: "dir"))
    var nginx: String?

    @Option(name: .customLong("nginx-user"), help: ArgumentHelp("uid[:gid] nginx reads the keys as, when not root (e.g. 101:101).", valueName: "uid:gid"))
    var nginxUser: String?

    @OptionGroup var thresholdOptions: ThresholdOptions

    @Flag(help: "Print the findings as JSON.")
    var json = false

    /// `--nginx-user uid[:gid]`.
    func user() throws -> (uid: UInt32, gid: UInt32)? {
        guard let nginxUser else { return nil }
        let parts = nginxUser.split(separator: ":", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let uid = UInt32(parts[0]), parts.count == 1 || UInt32(parts[1]) != nil else {
            throw InputError.invalidValue(option: "--nginx-user", value: nginxUser, reason: "use numeric uid or uid:gid")
        }
        return (uid, parts.count == 2 ? UInt32(parts[1])! : uid)
    }

    func run() throws {
        let thresholds = try thresholdOptions.thresholds()
        var doctor = DoctorRun()
        (doctor.stackPath, doctor.composeFiles, doctor.nginx, doctor.nginxUser, doctor.thresholds) = (stack, compose, nginx, try user(), thresholds)
        let report = try doctor.run(store: CertificateStore(root: store.path))
        let (findings, errors, composeFiles, nginxDir) = (report.findings, report.errors, report.composeFiles, report.nginxDirectory)
        if json {
            Terminal.out(JSON.object([
                ("version", .int(1)),
                ("ok", .bool(errors == 0)),
                ("errors", .int(errors)),
                ("warnings", .int(findings.count - errors)),
                ("checked", .object([
                    ("stack", .optional(report.stack)),
                    ("store", .string(store.path)),
                    ("compose", .strings(composeFiles)),
                    ("nginx", .optional(nginxDir)),
                ])),
                ("findings", .array(findings.map(\.json))),
            ]).rendered())
        } else if findings.isEmpty {
            Terminal.out("ok: no problems found (\(composeFiles.count) compose file\(composeFiles.count == 1 ? "" : "s")\(nginxDir == nil ? "" : ", nginx config"), store \(store.path))")
        } else {
            for f in findings {
                Terminal.out("\(f.severity.rawValue) [\(f.code)] \(f.location): \(f.message)\n  fix: \(f.fix)")
            }
            Terminal.out("\(errors) error\(errors == 1 ? "" : "s"), \(findings.count - errors) warning\(findings.count - errors == 1 ? "" : "s")")
        }
        if errors > 0 { throw ExitCode(Exit.negative) }
    }
}
