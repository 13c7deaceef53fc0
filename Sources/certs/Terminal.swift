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

    /// One line, whatever the message quotes from the input: line breaks and other control
    /// characters (a name with "\n" in a stack file, an escape sequence in a certificate field)
    /// are shown escaped, so the error stays one line and cannot drive the terminal.
    static func error(_ message: String) {
        writeAll(2, Array("error: \(escapingControls(message))\n".utf8))
    }

    static func escapingControls(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) }) else {
            return text
        }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0..<0x20, 0x7F, 0x80..<0xA0:
                let hex = String(scalar.value, radix: 16)
                out += "\\u{" + hex + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func note(_ message: String) {
        if Verbosity.quiet && !message.hasPrefix("warning") { return }  // --quiet: warnings and errors only
        writeAll(2, Array("\(message)\n".utf8))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) { bytes.withUnsafeBytes { writeAll(fd, $0) } }

    /// A string's UTF-8 as it is stored (a native string is contiguous: no copy of a large output).
    static func writeAll(_ fd: Int32, _ text: String) {
        var t = text
        t.withUTF8 { writeAll(fd, UnsafeRawBufferPointer($0)) }
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    static var stdoutIsTTY: Bool { isatty(1) == 1 }

    /// Colour on stdout only for a person at a terminal that can show it: not into a pipe or a
    /// file, not with `NO_COLOR` set to anything non-empty (no-color.org), not on `TERM=dumb`
    /// (Emacs shells, some CI logs) or with no `TERM` at all.
    static var stdoutColour: Bool {
        colourAllowed(noColor: environment("NO_COLOR"), term: environment("TERM"), isTTY: stdoutIsTTY)
    }

    static func colourAllowed(noColor: String?, term: String?, isTTY: Bool) -> Bool {
        guard isTTY else { return false }
        if let noColor, !noColor.isEmpty { return false }
        guard let term, !term.isEmpty, term != "dumb" else { return false }
        return true
    }

    /// Ends the process once everything is written (our output is unbuffered; stdio's, e.g. the
    /// parser's help, is flushed). No atexit handlers: they would only free memory the kernel frees
    /// anyway (OpenSSL's `OPENSSL_cleanup` is ~1.2M instructions after `key new`). Files are
    /// already fsync'd and renamed by the time a command returns.
    static func exit(_ code: Int32) -> Never {
        fflush(nil)
        _exit(code)
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
