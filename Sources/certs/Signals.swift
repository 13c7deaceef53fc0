#if canImport(Glibc)
import Glibc
#endif
import CertsCore

/// SIGINT and SIGTERM: recorded for the open `Transaction` (deploy, renew, install, emit), which
/// restores the previous state at its next checkpoint and exits 130/143 through `Certs.exit`;
/// with no transaction open nothing needs restoring and the process exits at once, with the
/// same codes. The running child (nginx -t, a hook) is in its own process group and gets the
/// signal forwarded, so it stops too and is waited for.
enum Signals {
    static func install() {
        Interruption.prepare()
        // A parent may have left them blocked (the mask is inherited across exec).
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                if Interruption.signalArrived(signal) {
                    let message: StaticString = "error: interrupted\n"
                    _ = write(2, message.utf8Start, message.utf8CodeUnitCount)
                    _exit(128 + signal)
                }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }

    /// `certs check --listen`: SIGINT and SIGTERM stop the server (it finishes the requests in
    /// progress and `run()` returns), instead of exiting at once.
    static func stop(_ server: MetricsServer) {
        server.stopOnSignal()
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in MetricsServer.wakeFromSignal() }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }
}
