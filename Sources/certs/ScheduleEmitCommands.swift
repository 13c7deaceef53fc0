import ArgumentParser
import CertsCore
#if canImport(Glibc)
import Glibc
#endif

/// The options both schedule emitters share.
struct ScheduleOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Option(name: .customLong("certs"), help: ArgumentHelp("Path of the certs executable to run (default: this one).", valueName: "path"))
    var executable: String?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("Arguments for `certs check` after --, e.g. -- --alert webhook=URL /etc/ssl/private.", valueName: "check-args"))
    var checkArguments: [String] = []

    func emitter(hour: Int = 3) -> ScheduleEmitter {
        var storePath = store.path
        if !storePath.hasPrefix("/") { storePath = Self.absolute(storePath) }
        return ScheduleEmitter(executable: executable ?? Self.selfPath(), store: storePath, checkArguments: checkArguments, hour: hour)
    }

    static func selfPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "certs"
    }

    static func absolute(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return path == "." ? cwd : "\(cwd)/\(path.hasPrefix("./") ? String(path.dropFirst(2)) : path)"
    }
}

struct EmitCron: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Print a crontab line that runs `certs renew --all` and then `certs check` daily at a random minute.",
        discussion: """
        The line is for a user crontab (crontab -e). Its command runs renew (whose failure does not \
        stop the check), then check with --store and --state <store>/check-state.json, so the \
        line's exit status is check's (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Arguments after -- \
        go to check: certs emit cron -- --alert webhook=https://hooks.example/T/ABC /etc/ssl/private
        """
    )

    @OptionGroup var options: ScheduleOptions

    @Option(help: "Hour of the day (0-23).")
    var hour = 3

    @Option(help: ArgumentHelp("Seed for the minute, for reproducible output (tests, config management).", valueName: "n"))
    var seed: UInt64?

    func validate() throws {
        if !(0...23).contains(hour) { throw ValidationError("--hour must be between 0 and 23") }
    }

    @Flag(help: "Print the crontab line in a JSON document (version 1).")
    var json = false

    func run() throws {
        let emitter = options.emitter(hour: hour)
        let line = emitter.cronLine(minute: ScheduleEmitter.minute(seed: seed))
        if json {
            Terminal.out(JSON.object([("version", .int(1)), ("command", .string("emit cron")), ("crontab", .string(line))]).rendered())
        } else {
            Terminal.out(line)
        }
    }
}

struct EmitSystemd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "systemd",
        abstract: "Write certs.service and certs.timer: daily renew, then check, with RandomizedDelaySec and Persistent=true.",
        discussion: """
        Install with: cp certs.service certs.timer /etc/systemd/system/ && systemctl enable --now certs.timer. \
        A WARNING/CRITICAL/UNKNOWN check fails the service (for OnFailure= or monitoring of failed units). \
        Arguments after -- go to check. --out - prints both units to stdout.
        """
    )

    @OptionGroup var options: ScheduleOptions

    @Option(name: [.customLong("out"), .customShort("o")], help: ArgumentHelp("Output directory, or - for stdout.", valueName: "dir"))
    var out = "."

    @Option(name: .customLong("on-calendar"), help: ArgumentHelp("When the timer fires (systemd.time OnCalendar=).", valueName: "spec"))
    var onCalendar = "daily"

    @Option(name: .customLong("randomized-delay"), help: ArgumentHelp("RandomizedDelaySec= of the timer.", valueName: "span"))
    var randomizedDelay = "1h"

    @Flag(help: "Replace existing unit files.")
    var force = false

    @Flag(help: "Print the files written as JSON (version 1).")
    var json = false

    func validate() throws {
        for (name, value) in [("--on-calendar", onCalendar), ("--randomized-delay", randomizedDelay)] where value.isEmpty || value.contains("\n") {
            throw ValidationError("\(name) must be one non-empty line")
        }
    }

    func run() throws {
        let units = options.emitter().systemdUnits(randomizedDelay: randomizedDelay, onCalendar: onCalendar)
        if out == "-" {
            for unit in units { Terminal.out("# \(unit.name)\n\(unit.contents)") }
            return
        }
        EmitReport.start(json: json)
        try EmitReport.write(FileBatch(files: units.map { .init(path: "\(out)/\($0.name)", text: $0.contents) }, header: nil, force: force))
        EmitReport.finish("emit systemd")
    }
}
