#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CertsCore

/// stdout/stderr without Foundation: `certs` starts in a few milliseconds for cron and scripts.
enum Terminal {
    static func out(_ text: String) {
        var t = text
        if !t.hasSuffix("\n") { t += "\n" }
        writeAll(1, Array(t.utf8))
    }

    static func writeBytes(_ bytes: [UInt8]) { writeAll(1, bytes) }

    static func error(_ message: String) {
        writeAll(2, Array("error: \(message)\n".utf8))
    }

    static func note(_ message: String) {
        writeAll(2, Array("\(message)\n".utf8))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    static var stdoutIsTTY: Bool { isatty(1) == 1 }

    static func exit(_ code: Int32) -> Never { Glibc.exit(code) }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
