import Foundation
import Testing
@testable import CertsCore

@Suite struct RFC3339Tests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00Z"),
        (Int64(-1), "1969-12-31T23:59:59Z"),
        (Int64(951_782_400), "2000-02-29T00:00:00Z"),
        (Int64(1_709_208_000), "2024-02-29T12:00:00Z"),
        (Int64(1_795_587_480), "2026-11-25T06:18:00Z"),
        (Int64(4_102_444_799), "2099-12-31T23:59:59Z"),
    ])
    func formatAndParseRoundTrip(_ seconds: Int64, _ text: String) {
        #expect(RFC3339.format(seconds) == text)
        #expect(RFC3339.parse(text) == seconds)
    }

    @Test func formatAgreesWithFoundationForManyInstants() {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let t = Int64.random(in: -2_000_000_000...4_000_000_000, using: &rng)
            let text = RFC3339.format(t)
            #expect(text == f.string(from: Date(timeIntervalSince1970: TimeInterval(t))), "\(t)")
            #expect(RFC3339.parse(text) == t, "\(text)")
        }
    }

    @Test(arguments: [
        ("2026-11-25T07:18:00+01:00", Int64(1_795_587_480)),
        ("2026-11-25T00:48:00-05:30", Int64(1_795_587_480)),
        ("2026-11-25T06:18:00+00:00", Int64(1_795_587_480)),
        ("2026-11-25T06:18:00-00:00", Int64(1_795_587_480)),
        ("2026-11-25T06:18:00.999Z", Int64(1_795_587_480)),
        ("2026-11-25T07:18:00.5+01:00", Int64(1_795_587_480)),
        ("2026-11-25t06:18:00z", Int64(1_795_587_480)),
        ("2026-11-25 06:18:00Z", Int64(1_795_587_480)),
        ("2026-11-26T00:30:00+18:12", Int64(1_795_587_480)),
        ("2026-11-25", Int64(1_795_564_800)),
        ("2020-01-01T00:00:00Z", Int64(1_577_836_800)),
    ])
    func parseHonoursOffsetsFractionsAndSeparators(_ text: String, _ expected: Int64) {
        #expect(RFC3339.parse(text) == expected, "\(text)")
    }

    @Test func parseAgreesWithFoundationOnOffsets() {
        let f = ISO8601DateFormatter()
        for text in ["2031-03-04T05:06:07+09:00", "1999-12-31T23:59:59-08:00", "2026-06-30T12:00:00+05:45"] {
            let expected = f.date(from: text).map { Int64($0.timeIntervalSince1970) }
            #expect(expected != nil && RFC3339.parse(text) == expected, "\(text)")
        }
    }

    @Test(arguments: [
        "", "garbage", "2026-11-25T06:18:00", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-11-32T00:00:00Z",
        "2026-11-25T24:00:00Z", "2026-11-25T06:60:00Z", "2026-11-25T06:18:00+0100", "2026-11-25T06:18:00Zjunk",
        "2026-11-25T06:18Z", "26-11-25T06:18:00Z", "2026/11/25", "2026-11-25T06:18:00.Z+", "1795587480",
    ])
    func parseRejectsMalformedTimestamps(_ text: String) {
        #expect(RFC3339.parse(text) == nil, "\(text) parsed")
    }

    @Test(arguments: ["2026-02-29", "2026-02-30T00:00:00Z", "2026-04-31T12:00:00Z", "2100-02-29T00:00:00Z", "2026-06-31"])
    func parseRejectsDaysTheMonthDoesNotHave(_ text: String) {
        // Otherwise "--valid-from 2026-02-30" would silently mean March 2nd.
        #expect(RFC3339.parse(text) == nil, "\(text) parsed as \(RFC3339.parse(text).map(RFC3339.format) ?? "")")
    }

    @Test func parseAcceptsLeapDaysOfLeapYears() {
        #expect(RFC3339.parse("2024-02-29") == 1_709_164_800)
        #expect(RFC3339.parse("2000-02-29T00:00:00Z") == 951_782_400)
    }

    @Test func daysBetweenRoundsTowardsThePast() {
        #expect(daysBetween(0, 0) == 0)
        #expect(daysBetween(0, 86399) == 0)
        #expect(daysBetween(0, 86400) == 1)
        #expect(daysBetween(0, 5 * 86400 + 1) == 5)
        #expect(daysBetween(0, -1) == -1)
        #expect(daysBetween(0, -86400) == -1)
        #expect(daysBetween(0, -86401) == -2)
    }
}
