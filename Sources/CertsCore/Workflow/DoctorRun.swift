/// One `certs doctor` run: which inputs to examine (the stack file if there is one, the compose
/// files and the nginx directory next to it unless given) and the findings at `clock`'s time.
public struct DoctorRun {
    /// `--stack` (nil: ./stack.yaml when it exists; without one only the store is checked).
    public var stackPath: String?
    /// `--compose` (empty: compose*.yaml / docker-compose*.yaml next to the stack file).
    public var composeFiles: [String] = []
    /// `--out`: the nginx directory (its conf.d/ when it has one; nil: nginx/conf.d next to the stack file).
    public var nginx: String?
    public var nginxUser: (uid: UInt32, gid: UInt32)?
    public var thresholds = CheckThresholds()

    public init() {}

    /// What was examined and what was found.
    public struct Report {
        /// The stack file read, nil when there was none.
        public let stack: String?
        public let composeFiles: [String]
        public let nginxDirectory: String?
        public let findings: [DoctorFinding]
        public var errors: Int { findings.filter { $0.severity == .error }.count }
        public var warnings: Int { findings.count - errors }
    }

    /// The directory of a stack file ("." for a bare name): relative paths in the stack are relative to it.
    public static func stackDirectory(_ stackPath: String) -> String {
        let d = FileSystem.directoryName(of: stackPath)
        return d.isEmpty ? "." : d
    }

    public func run(store: CertificateStore, clock: Clock = .system) throws -> Report {
        let path = stackPath ?? "stack.yaml"
        var loaded: Stack?
        if stackPath != nil || FileSystem.exists(path) { loaded = try Stack.load(path: path) }
        let base = Self.stackDirectory(path)
        var compose = composeFiles
        for f in compose where !FileSystem.exists(f) { throw InputError.notFound(path: f) }
        if compose.isEmpty && loaded != nil {
            compose = FileSystem.list(base).sorted()
                .filter { ($0.hasPrefix("compose") || $0.hasPrefix("docker-compose")) && ($0.hasSuffix(".yaml") || $0.hasSuffix(".yml")) }
                .map { base == "." ? $0 : "\(base)/\($0)" }
        }
        var nginxDirectory: String?
        if let nginx {
            guard FileSystem.isDirectory(nginx) else { throw InputError.notFound(path: nginx) }
            nginxDirectory = FileSystem.isDirectory("\(nginx)/conf.d") ? "\(nginx)/conf.d" : nginx
        } else if loaded != nil, FileSystem.isDirectory("\(base)/nginx/conf.d") {
            nginxDirectory = "\(base)/nginx/conf.d"
        }
        let doctor = Doctor(stack: loaded, baseDirectory: base, store: store, composeFiles: compose, nginxDirectory: nginxDirectory,
                            nginxUser: nginxUser, now: clock.now(), thresholds: thresholds)
        return Report(stack: loaded == nil ? nil : path, composeFiles: compose, nginxDirectory: nginxDirectory, findings: doctor.run())
    }
}
