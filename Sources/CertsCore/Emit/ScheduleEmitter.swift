/// Schedules for the nightly `certs renew` + `certs check`: a crontab line or a systemd
/// service and timer. The minute is random so that many hosts do not hit the CA at the same
/// moment; a seed makes it reproducible.
public struct ScheduleEmitter: Sendable {
    /// Absolute path of the certs executable.
    public var executable: String
    public var store: String
    /// Arguments appended to `certs check` (thresholds, alerts, paths, endpoints…).
    public var checkArguments: [String]
    /// The hour (0–23) the cron line runs at.
    public var hour: Int

    public init(executable: String, store: String, checkArguments: [String], hour: Int = 3) {
        self.executable = executable
        self.store = store
        self.checkArguments = checkArguments
        self.hour = hour
    }

    /// The state file the check uses unless the arguments name one.
    public var statePath: String { "\(store)/check-state.json" }

    public var renewCommand: String {
        [executable, "renew", "--all", "--store", store].map(Self.quote).joined(separator: " ")
    }

    public var checkCommand: String {
        var args = [executable, "check", "--store", store]
        if !checkArguments.contains("--state") && !checkArguments.contains(where: { $0.hasPrefix("--state=") }) {
            args += ["--state", statePath]
        }
        return (args + checkArguments).map(Self.quote).joined(separator: " ")
    }

    /// The command part of the cron line: renew (its failure does not stop the check), then check,
    /// whose exit code is the line's.
    public var cronCommand: String { "\(renewCommand); \(checkCommand)" }

    /// A minute 0–59 from `seed` (SplitMix64), or from the system's random generator.
    public static func minute(seed: UInt64?) -> Int {
        guard var z = seed else {
            var rng = SystemRandomNumberGenerator()
            return Int(rng.next() % 60)
        }
        z &+= 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % 60)
    }

    /// `M H * * * certs renew …; certs check …` for a user crontab (`crontab -e`). `%` is special
    /// in crontab command fields, so it is escaped.
    public func cronLine(minute: Int) -> String {
        let command = cronCommand.replacingPercent()
        return "\(minute) \(hour) * * * \(command)"
    }

    /// `certs.service` (oneshot: renew, then check; a failing check fails the unit, for OnFailure=)
    /// and `certs.timer` (daily, RandomizedDelaySec, Persistent so a missed run happens at boot).
    public func systemdUnits(randomizedDelay: String = "1h", onCalendar: String = "daily") -> [(name: String, contents: String)] {
        let service = """
        # Written by certs emit systemd.
        [Unit]
        Description=Renew certificates, then check expiry (certs)
        Wants=network-online.target
        After=network-online.target

        [Service]
        Type=oneshot
        # A failed renewal must not stop the check that reports it.
        ExecStart=-\(Self.systemdEscaped(renewCommand))
        ExecStart=\(Self.systemdEscaped(checkCommand))

        """
        let timer = """
        # Written by certs emit systemd.
        [Unit]
        Description=Daily certificate renewal and expiry check (certs)

        [Timer]
        OnCalendar=\(onCalendar)
        RandomizedDelaySec=\(randomizedDelay)
        Persistent=true
        Unit=certs.service

        [Install]
        WantedBy=timers.target

        """
        return [("certs.service", service), ("certs.timer", timer)]
    }

    /// systemd expands `%` specifiers and `$` variables in ExecStart=: both are doubled.
    static func systemdEscaped(_ command: String) -> String {
        var out = ""
        for c in command { out += c == "%" ? "%%" : (c == "$" ? "$$" : String(c)) }
        return out
    }

    /// Single-quotes a word for /bin/sh when it needs it.
    public static func quote(_ s: String) -> String {
        let safe = s.unicodeScalars.allSatisfy { c in
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || "-_./=:,@+%".unicodeScalars.contains(c)
        }
        if safe && !s.isEmpty { return s }
        var out = "'"
        for c in s { out += c == "'" ? "'\\''" : String(c) }
        return out + "'"
    }
}

extension String {
    func replacingPercent(with replacement: String = "\\%") -> String {
        var out = ""
        for c in self { out += c == "%" ? replacement : String(c) }
        return out
    }
}
