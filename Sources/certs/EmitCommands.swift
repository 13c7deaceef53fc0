import ArgumentParser
import CertsCore

struct EmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit",
        abstract: "Write deploy files from the stack file.",
        subcommands: [EmitNginx.self, EmitCron.self, EmitSystemd.self, EmitCompose.self, EmitCI.self, EmitK8s.self]
    )
}

/// `--stack FILE`, default ./stack.yaml.
struct StackOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The stack file.", valueName: "file"))
    var stack = "stack.yaml"

    func load() throws -> Stack { try Stack.load(path: stack) }
}

struct EmitNginx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nginx",
        abstract: "Write the nginx HTTPS reverse-proxy configuration for every domain of the stack.",
        discussion: """
        Writes conf.d/00-certs-common.conf and conf.d/NAME.conf per domain under --out (default ./nginx), \
        for an nginx that includes conf.d/*.conf in its http block (as the official image does). \
        Files certs wrote before are replaced; any other file is left alone unless --force.
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out = "nginx"

    @OptionGroup var targetOptions: NginxTargetOptions

    @Flag(help: "Replace files at the paths certs writes that certs did not write (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        let stack = try stackOptions.load()
        let target = try targetOptions.target(stack: stack)
        let certStore = CertificateStore(root: store.path)
        var ocsp: Set<String> = []
        for domain in stack.domains {
            let path = certStore.paths(domain.certificate).certificate
            if let doc = try? CryptoDocument(bytes: try FileSystem.read(path), source: path),
               let leaf = doc.certificates.first, !leaf.authorityInfoAccess.ocsp.isEmpty {
                ocsp.insert(domain.certificate)
            }
        }
        let emitter = NginxEmitter(stack: stack, target: target, ocspCertificates: ocsp)
        EmitReport.start(json: json)
        let files = emitter.files().map { FileBatch.File(path: "\(out)/\($0.path)", text: $0.contents) }
        try EmitReport.write(FileBatch(files: files, header: NginxEmitter.header, force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit nginx")
    }

}

/// `--nginx-version` / `--openssl-version`: the binary that will load the config. Each falls back
/// to the stack file's `nginx.version` / `nginx.openssl`, then to nginx 1.27 on OpenSSL 3.0.
struct NginxTargetOptions: ParsableArguments {
    @Option(name: .customLong("nginx-version"), help: ArgumentHelp("Version of the nginx that will load the config (1.25.1+ gets `http2 on`; default: nginx.version of the stack, else 1.27.0).", valueName: "x.y.z"))
    var nginxVersion: String?

    @Option(name: .customLong("openssl-version"), help: ArgumentHelp("OpenSSL that nginx runs with (3.5+ gets X25519MLKEM768 first; default: nginx.openssl of the stack, else 3.0).", valueName: "x.y.z"))
    var openSSLVersion: String?

    static func parse(_ text: String?, option: String) throws -> SoftwareVersion? {
        guard let text else { return nil }
        guard let v = SoftwareVersion(parsing: text) else {
            throw InputError.invalidValue(option: option, value: text, reason: "use x.y or x.y.z, e.g. 1.22.1")
        }
        return v
    }

    var explicitNginx: SoftwareVersion? { get throws { try Self.parse(nginxVersion, option: "--nginx-version") } }
    var explicitOpenSSL: SoftwareVersion? { get throws { try Self.parse(openSSLVersion, option: "--openssl-version") } }

    func target(stack: Stack) throws -> NginxEmitter.Target {
        let d = NginxEmitter.Target()
        return .init(nginxVersion: try explicitNginx ?? stack.nginx.version ?? d.nginxVersion,
                     openSSLVersion: try explicitOpenSSL ?? stack.nginx.openSSLVersion ?? d.openSSLVersion)
    }
}
