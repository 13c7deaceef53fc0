#if canImport(Glibc)
import Glibc
#endif

/// Puts `live/NAME` back at the version it pointed to before a run replaced it, when SIGINT or
/// SIGTERM arrives before the run is done (renew: before its deploy hook and probe finished;
/// install: before the new version is reported). The archived new version stays in
/// `archive/NAME`; only the live link moves back.
///
/// The `Transaction` opens at `begin()` or at the first `replaced`: before anything is replaced a
/// signal has nothing to restore and ends the process at once (renew does not hold Ctrl-C back
/// while it talks to a CA).
public final class LiveRollback {
    let store: CertificateStore
    let subject: String
    private var transaction: Transaction?

    public init(store: CertificateStore, subject: String) {
        self.store = store
        self.subject = subject
    }

    /// Opens the transaction now, before a replacement that cannot be split from its report.
    public func begin() {
        if transaction == nil { transaction = Transaction(subject) }
    }

    /// `name` now points at a new version; `previous` is the version it pointed to (nil: none,
    /// the link is removed on rollback). `also` undoes a file written with it (a moved record).
    public func replaced(_ name: String, previous: Int?, also: (() throws -> Void)? = nil) {
        begin()
        let store = self.store
        transaction?.onRollback {
            if let previous {
                try store.point(name: name, at: String(format4: previous))
            } else if unlink(store.liveDirectory(name)) != 0 && errno != ENOENT {
                throw OutputError.cannotWrite(path: store.liveDirectory(name), reason: FileSystem.errorString(errno))
            }
        }
        if let also { transaction?.onRollback(also) }
    }

    /// Throws `Interrupted` (after putting every replaced link back) once a signal has arrived.
    public func checkpoint() throws { try transaction?.checkpoint() }

    /// The run is complete: the new versions stay.
    public func commit() {
        transaction?.commit()
        transaction = nil
    }
}
