#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 3339 timestamps (UTC, second precision), the one time format in `certs`' output.
public enum RFC3339 {
    /// "2026-11-25T06:18:00Z" for Unix seconds.
    public static func format(_ seconds: Int64) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    /// Parses "2026-11-25T06:18:00Z", "2026-11-25T06:18:00.5+01:00", "2026-11-25 06:18:00Z" or a date "2026-11-25".
    public static func parse(_ text: String) -> Int64? {
        let s = Array(text.utf8)
        func num(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= s.count else { return nil }
            var v = 0
            for c in s[from..<(from + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let year = num(0, 4), s.count >= 10, s[4] == 45, let month = num(5, 2), s[7] == 45, let day = num(8, 2) else { return nil }
        var hour = 0, minute = 0, second = 0, offset = 0
        var i = 10
        if s.count > 10 {
            guard s[10] == 84 || s[10] == 116 || s[10] == 32, let h = num(11, 2), s.count > 13, s[13] == 58, let m = num(14, 2), s.count > 16, s[16] == 58, let sec = num(17, 2) else { return nil }
            hour = h; minute = m; second = sec
            i = 19
            if i < s.count, s[i] == 46 {  // fraction: ignored
                i += 1
                while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
            }
            guard i < s.count else { return nil }
            if s[i] == 90 || s[i] == 122 { i += 1 }
            else if s[i] == 43 || s[i] == 45 {
                guard let oh = num(i + 1, 2), i + 3 < s.count, s[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
                offset = (oh * 3600 + om * 60) * (s[i] == 43 ? 1 : -1)
                i += 6
            } else { return nil }
            guard i == s.count else { return nil }
        }
        guard (1...12).contains(month), (1...daysInMonth(year, month)).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        return daysFromCivil(year, month, day) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    /// 28…31: a date like 2026-02-30 is rejected, not rolled over into March.
    static func daysInMonth(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146097 + doe - 719468)
    }
}

/// The current time in Unix seconds. Everything else takes time as a parameter.
public func currentUnixTime() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec)
}

/// Whole days from `now` until `instant`, rounded down (negative once past): the one "days left"
/// of every command (inspect, check, doctor, verify, deploy, renew; docs/cli.md). An expired
/// certificate is `-daysBetween(now, notAfter)` days past, so "expired N days ago" and the JSON's
/// `-N` always agree.
public func daysBetween(_ now: Int64, _ instant: Int64) -> Int {
    let delta = instant - now
    return Int(delta >= 0 ? delta / 86400 : -((-delta + 86399) / 86400))
}

/// The time a workflow runs at, and how it waits: `.system` in the product, `.fixed(t)` in tests
/// that pin the due decision or a threshold instead of waiting or back-dating files.
public struct Clock: Sendable {
    /// Unix seconds now.
    public var now: @Sendable () -> Int64
    /// Waits `seconds` (the renewal's random delay).
    public var sleep: @Sendable (Double) -> Void

    public init(now: @escaping @Sendable () -> Int64, sleep: @escaping @Sendable (Double) -> Void) {
        self.now = now
        self.sleep = sleep
    }

    public static let system = Clock(now: { currentUnixTime() }, sleep: { pause($0) })

    /// Always `instant`; sleeping returns at once.
    public static func fixed(_ instant: Int64) -> Clock { Clock(now: { instant }, sleep: { _ in }) }
}
