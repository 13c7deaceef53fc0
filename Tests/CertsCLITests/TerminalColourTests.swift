import Foundation
import Testing

/// Colour is for a person at a capable terminal: never in a pipe or file, never with `NO_COLOR`
/// (no-color.org) or `TERM=dumb`. The terminal is a real pty made by util-linux `script`.
@Suite struct TerminalColourTests {
    static let escape = "\u{1B}["

    /// A store with one fresh certificate from the local CA: `certs check` prints its table.
    static func store(_ s: Scratch) throws -> String {
        let store = s.file("store")
        #expect(try certs("ca", "init", "--store", store).status == 0)
        #expect(try certs("ca", "issue", "--store", store, "colour.test").status == 0)
        return store
    }

    /// Runs `certs check --store S` on a pty with exactly `env` as the terminal-related variables.
    static func checkOnTerminal(_ store: String, env: [String: String], unset: [String] = []) throws -> RunResult {
        let assignments = env.sorted(by: { $0.key < $1.key }).map { "\($0.key)=\(shQuote($0.value))" }.joined(separator: " ")
        let command = "\(shQuote(certsBinary)) check --store \(shQuote(store))"
        let inner = "exec env " + unset.map { "-u \($0) " }.joined() + assignments + " " + command
        return try run("/usr/bin/script", ["-qec", inner, "/dev/null"])
    }

    @Test func checkColoursItsStatusColumnOnATerminal() throws {
        let s = Scratch()
        let store = try Self.store(s)
        let r = try Self.checkOnTerminal(store, env: ["TERM": "xterm-256color"], unset: ["NO_COLOR"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("colour.test"))
        #expect(r.stdout.contains(Self.escape + "32m"), "expected a green OK on a terminal: \(r.stdout.debugDescription)")
    }

    @Test func noColorTurnsColourOff() throws {
        let s = Scratch()
        let store = try Self.store(s)
        let r = try Self.checkOnTerminal(store, env: ["TERM": "xterm-256color", "NO_COLOR": "1"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("colour.test"))
        #expect(!r.stdout.contains("\u{1B}"), "escape codes with NO_COLOR: \(r.stdout.debugDescription)")
    }

    @Test func anEmptyNoColorDoesNotCount() throws {
        // no-color.org: "when present and not an empty string".
        let s = Scratch()
        let store = try Self.store(s)
        let r = try Self.checkOnTerminal(store, env: ["TERM": "xterm", "NO_COLOR": ""])
        #expect(r.stdout.contains(Self.escape + "32m"), "\(r.stdout.debugDescription)")
    }

    @Test func aDumbTerminalGetsNoColour() throws {
        let s = Scratch()
        let store = try Self.store(s)
        let r = try Self.checkOnTerminal(store, env: ["TERM": "dumb"], unset: ["NO_COLOR"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("colour.test"))
        #expect(!r.stdout.contains("\u{1B}"), "escape codes on TERM=dumb: \(r.stdout.debugDescription)")
    }

    @Test func aPipeGetsNoColourEvenWithAColourTerminalName() throws {
        let s = Scratch()
        let store = try Self.store(s)
        let r = try certs(["check", "--store", store], environment: ["TERM": "xterm-256color"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("colour.test"))
        #expect(!r.stdout.contains("\u{1B}") && !r.stderr.contains("\u{1B}"))
    }
}
