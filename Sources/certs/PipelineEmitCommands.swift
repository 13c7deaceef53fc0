import Glibc
import ArgumentParser
import CertsCore

/// What an emitter wrote: "wrote PATH" lines, or with --json one document at the end
/// (`{"version": 1, "command": "emit nginx", "files": [...]}`, docs/json.md).
enum EmitReport {
    nonisolated(unsafe) static var json = false
    nonisolated(unsafe) static var files: [String] = []

    static func start(json: Bool) { self.json = json; files = [] }

    static func wrote(_ path: String) {
        if json { files.append(path) } else { Terminal.out("wrote \(path)") }
    }

    /// Writes the batch (all or none) and reports every file.
    static func write(_ batch: FileBatch) throws {
        for path in try batch.write() { wrote(path) }
    }

    static func finish(_ command: String) {
        guard json else { return }
        Terminal.out(JSON.object([("version", .int(1)), ("command", .string(command)), ("files", .strings(files))]).rendered())
    }
}

/// The directory of the stack file ("." for a bare name): relative paths in the stack are relative to it.
func stackDirectory(_ stackPath: String) -> String { DoctorRun.stackDirectory(stackPath) }

struct EmitCompose: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compose",
        abstract: "Write the Docker Compose file(s) for the stack: services, nginx, one shared network.",
        discussion: """
        Without --host: compose.yaml for the main VM (nginx and every service without host:). With --host ADDRESS: \
        compose.ADDRESS.yaml with the services that run on that VM, publishing their ports on its private address. \
        Paths in the stack (build, init, env_file) are relative to the compose file, so --out defaults to the stack file's \
        directory. Built images are named ${CERTS_REGISTRY:-localhost}/SERVICE:${CERTS_TAG:-latest}.
        """
    )

    @OptionGroup var stackOptions: StackOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory (default: the stack file's directory).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Write the file for the services on this VM (a host: address from the stack).", valueName: "address"))
    var host: String?

    @Option(name: .customLong("store-mount"), help: ArgumentHelp("The store as the compose file sees it (the host path mounted into nginx).", valueName: "path"))
    var storePath = "./certs"

    @Option(name: .customLong("nginx-mount"), help: ArgumentHelp("The emitted nginx conf.d as the compose file sees it (mounted into nginx).", valueName: "path"))
    var nginxConfig = "./nginx/conf.d"

    @Option(help: ArgumentHelp("The ACME webroot on the host (certs request --webroot writes there).", valueName: "path"))
    var webroot = "./acme-webroot"

    @Option(name: .customLong("nginx-image"), help: ArgumentHelp("The nginx image.", valueName: "image"))
    var nginxImage = "nginx:1.27"

    @Flag(help: "Replace a file certs did not write at the path it writes (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        EmitReport.start(json: json)
        let stack = try stackOptions.load()
        var host = self.host
        if let h = host {
            guard let ip = IPAddress.normalize(h) else {
                throw InputError.invalidValue(option: "--host", value: h, reason: "use the private IP address given as host: in the stack")
            }
            host = ip
        }
        let emitter = ComposeEmitter(stack: stack, host: host, storePath: storePath, nginxConfigPath: nginxConfig,
                                     webrootPath: webroot, nginxImage: nginxImage)
        let path = "\(out ?? stackDirectory(stackOptions.stack))/\(emitter.fileName)"
        try EmitReport.write(FileBatch(files: [.init(path: path, text: try emitter.contents())], header: ComposeEmitter.header,
                                       force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit compose")
    }
}

struct EmitCI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ci",
        abstract: "Write the CI workflow: build only changed services, deploy, scheduled certs check.",
        discussion: """
        --provider github writes .github/workflows/certs-deploy.yaml under --out (default: the stack file's directory). \
        Secrets it uses: DEPLOY_SSH_KEY, DEPLOY_KNOWN_HOSTS, DEPLOY_TARGET (user@main-vm) and DEPLOY_TARGET_<ADDRESS> \
        for every other VM (dots as underscores).
        """
    )

    @OptionGroup var stackOptions: StackOptions

    @Option(help: ArgumentHelp("CI provider (github).", valueName: "name"))
    var provider = "github"

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory (default: the stack file's directory).", valueName: "dir"))
    var out: String?

    @Option(help: ArgumentHelp("Branch whose pushes deploy.", valueName: "name"))
    var branch = "main"

    @Option(name: .customLong("deploy-dir"), help: ArgumentHelp("Where the repository is checked out on the VMs.", valueName: "path"))
    var deployDir = "/srv/stack"

    @Option(help: ArgumentHelp("Cron schedule (UTC) of the certs check job.", valueName: "cron"))
    var schedule = "17 5 * * *"

    @OptionGroup var thresholdOptions: ThresholdOptions

    @Flag(help: "Replace a file certs did not write at the path it writes (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        EmitReport.start(json: json)
        let thresholds = try thresholdOptions.thresholds()
        guard provider == "github" else {
            throw InputError.invalidValue(option: "--provider", value: provider, reason: "supported: github")
        }
        guard schedule.split(separator: " ").count == 5 else {
            throw InputError.invalidValue(option: "--schedule", value: schedule, reason: "a cron expression has five fields")
        }
        guard deployDir.hasPrefix("/") else {
            throw InputError.invalidValue(option: "--deploy-dir", value: deployDir, reason: "use an absolute path")
        }
        let stack = try stackOptions.load()
        let emitter = CIEmitter(stack: stack, branch: branch, deployDirectory: deployDir, schedule: schedule, thresholds: thresholds)
        let path = "\(out ?? stackDirectory(stackOptions.stack))/\(CIEmitter.fileName)"
        try EmitReport.write(FileBatch(files: [.init(path: path, text: emitter.contents())], header: CIEmitter.header,
                                       force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit ci")
    }
}

struct EmitK8s: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "k8s",
        abstract: "Write Kubernetes manifests: Deployments, Services, Ingresses, and TLS Secrets or cert-manager resources.",
        discussion: """
        Writes stack.yaml (workloads and Ingresses) and tls-secrets.yaml (kubernetes.io/tls Secrets from the store, \
        mode 0600: it holds the private keys) under --out (default ./k8s). With --cert-manager, writes cert-manager.yaml \
        (an ACME Issuer and a Certificate per domain) instead of the Secrets, so the cluster renews by itself.
        """
    )

    @OptionGroup var stackOptions: StackOptions
    @OptionGroup var store: StoreOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory.", valueName: "dir"))
    var out = "k8s"

    @Option(help: ArgumentHelp("Namespace for every resource.", valueName: "name"))
    var namespace: String?

    @Option(name: .customLong("ingress-class"), help: ArgumentHelp("Ingress class.", valueName: "name"))
    var ingressClass = "nginx"

    @Option(help: ArgumentHelp("Registry prefix for images built from build:.", valueName: "prefix"))
    var registry = "localhost"

    @Flag(name: .customLong("cert-manager"), help: "Emit cert-manager Issuer and Certificates instead of Secrets from the store.")
    var certManager = false

    @Flag(help: "Replace files certs did not write at the paths it writes (never the stack file).")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func run() throws {
        EmitReport.start(json: json)
        let stack = try stackOptions.load()
        if let namespace, KubernetesEmitter.resourceName(namespace) != namespace || namespace.contains(".") {
            throw InputError.invalidValue(option: "--namespace", value: namespace, reason: "use lower-case letters, digits and '-'")
        }
        let base = stackDirectory(stackOptions.stack)
        var scripts: [String: [UInt8]] = [:]
        for s in stack.services {
            guard let script = s.initScript, !script.hasSuffix("/") else { continue }
            scripts[s.name] = try FileSystem.read(script.hasPrefix("/") ? script : "\(base)/\(script)", limit: 1024 * 1024)
        }
        let emitter = KubernetesEmitter(stack: stack, namespace: namespace, ingressClass: ingressClass, registry: registry, initScripts: scripts)
        // Read everything before writing anything.
        var secrets: String?
        if !certManager {
            let certStore = CertificateStore(root: store.path)
            var stored: [String: KubernetesEmitter.StoredCertificate] = [:]
            for d in stack.domains where stored[d.certificate] == nil {
                let p = certStore.paths(d.certificate)
                stored[d.certificate] = .init(fullchain: try FileSystem.read(p.fullchain), key: try FileSystem.read(p.key))
            }
            secrets = try emitter.secrets(stored)
        }
        var files = [FileBatch.File(path: "\(out)/\(KubernetesEmitter.workloadsFile)", text: emitter.workloads())]
        if let secrets {
            files.append(.init(path: "\(out)/\(KubernetesEmitter.secretsFile)", text: secrets, mode: 0o600))
        } else {
            files.append(.init(path: "\(out)/\(KubernetesEmitter.certManagerFile)", text: try emitter.certManager()))
        }
        try EmitReport.write(FileBatch(files: files, header: KubernetesEmitter.header, force: force, inputs: [stackOptions.stack]))
        EmitReport.finish("emit k8s")
    }
}
