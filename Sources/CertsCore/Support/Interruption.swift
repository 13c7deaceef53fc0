#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What SIGINT/SIGTERM mean while certs changes something: the CLI's signal handler records the
/// signal here and forwards it to the running child's process group; a workflow that has swapped
/// files in (deploy, renew, install, emit) holds a `Transaction`, sees the signal at its next
/// checkpoint, puts the previous state back and stops. Outside a transaction there is nothing to
/// restore, so the handler may exit at once.
///
/// Everything the handler touches is an atomic: loads, stores and `kill(2)` are async-signal-safe.
public enum Interruption {
    static let received = Atomic<Int32>(0)
    static let child = Atomic<Int32>(0)
    static let transactions = Atomic<Int32>(0)

    /// Touches the atomics so the handler never runs a lazy initialiser.
    public static func prepare() {
        _ = received.load(ordering: .relaxed)
        _ = child.load(ordering: .relaxed)
        _ = transactions.load(ordering: .relaxed)
    }

    /// Called from the signal handler: records the first signal and forwards this one to the
    /// running child's process group (it runs in its own group, see `Subprocess`). Returns true
    /// when no transaction is open, i.e. the process may exit right away.
    public static func signalArrived(_ signal: Int32) -> Bool {
        _ = received.compareExchange(expected: 0, desired: signal, ordering: .sequentiallyConsistent)
        let pid = child.load(ordering: .sequentiallyConsistent)
        if pid > 0 { kill(-pid, signal) }
        return transactions.load(ordering: .sequentiallyConsistent) == 0
    }

    /// The signal received, if any.
    public static var signal: Int32? {
        let s = received.load(ordering: .sequentiallyConsistent)
        return s == 0 ? nil : s
    }

    static func running(child pid: pid_t) { child.store(pid, ordering: .sequentiallyConsistent) }
}

/// A change that can be undone: while one is open a signal does not end the process; the
/// workflow calls `checkpoint()` after each step and, once interrupted, the undo steps run in
/// reverse and `Interrupted` is thrown.
public final class Transaction {
    /// What is being changed, for the message ("the nginx config in nginx/conf.d").
    public let subject: String
    private var undo: [() throws -> Void] = []
    private var open = true

    public init(_ subject: String) {
        self.subject = subject
        Interruption.transactions.add(1, ordering: .sequentiallyConsistent)
    }

    deinit { close() }

    /// Registers how to undo the step just done.
    public func onRollback(_ step: @escaping () throws -> Void) { undo.append(step) }

    /// Throws `Interrupted` (after rolling back) when a signal has arrived.
    public func checkpoint() throws {
        guard let signal = Interruption.signal else { return }
        let restored = rollBack()
        throw Interrupted(signal: signal, subject: subject, restored: restored)
    }

    /// Undoes every registered step, newest first; false when one of them failed.
    @discardableResult
    public func rollBack() -> Bool {
        var ok = true
        for step in undo.reversed() {
            do { try step() } catch { ok = false }
        }
        undo = []
        close()
        return ok
    }

    /// The change is complete and stays.
    public func commit() {
        undo = []
        close()
    }

    private func close() {
        guard open else { return }
        open = false
        Interruption.transactions.subtract(1, ordering: .sequentiallyConsistent)
    }
}

/// The run was stopped by SIGINT/SIGTERM; `restored` says whether the previous state is back.
public struct Interrupted: CertsFailure, Equatable {
    public let signal: Int32
    /// What was being changed.
    public let subject: String
    public let restored: Bool

    public init(signal: Int32, subject: String, restored: Bool) {
        self.signal = signal
        self.subject = subject
        self.restored = restored
    }

    public var kind: FailureKind { .internal }

    /// 130 for SIGINT, 143 for SIGTERM: the shell's 128 + signal.
    public var exitCode: Int32 { 128 + signal }

    public var signalName: String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }

    public var description: String {
        restored
            ? "interrupted by \(signalName): restored \(subject) as it was before"
            : "interrupted by \(signalName): could not restore \(subject); check it now"
    }
}
