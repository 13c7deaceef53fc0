extension Deployer {
    /// The roots deploy checks the certificates against without --trust: the local CA's root for
    /// tls.source local (when the store has one), else the system store.
    public static func defaultTrust(stack: Stack, store: CertificateStore) throws -> TrustStore {
        let root = LocalCATrust.rootPath(store: store.root)
        guard stack.tls.source == .local, FileSystem.exists(root) else { return try TrustStore.system() }
        return try TrustStore.certificates(try CryptoDocument(bytes: try FileSystem.read(root), source: root).certificates, origin: root)
    }

    /// Sends a failed deploy (refused, rolled back, or a rollback that failed too) to `targets`;
    /// returns the alerts that could not be delivered. Nothing for a success or a dry run.
    public static func alertFailure(_ report: Report, stack: Stack, source: String, targets: [AlertTarget], at time: Int64) throws -> [String] {
        guard !report.success || report.rollbackFailed, !targets.isEmpty, !report.dryRun else { return [] }
        let failed = report.steps.filter { !$0.ok }.map { "\($0.name): \($0.detail)" }
        let state = report.rollbackFailed ? "the rollback failed too: check nginx now" : report.rolledBack ? "rolled back, the previous config serves" : "nothing changed"
        let event = AlertEvent.failure(of: .deploy, source: source, names: stack.domains.map(\.name),
                                       message: (failed + [state]).joined(separator: "; "), at: time)
        return (try Alerter(targets: targets)).deliver(event)
    }
}
