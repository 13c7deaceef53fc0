import Foundation
import Testing
@testable import CertsCore

/// The exporter's cache: one check run in flight at a time, its result shared, rerun after the interval.
@Suite struct CachedCheckRunTests {
    @Test func concurrentCallersShareTheRunInFlightAndOneRunFollowsTheInterval() {
        let inRun = Locked(0), maxInRun = Locked(0)
        let cache = CachedCheckRun(interval: 0.5) {
            let n = inRun.withValue { n -> Int in n += 1; return n }
            maxInRun.withValue { $0 = max($0, n) }
            usleep(200_000)  // a slow run: every caller below arrives while it is in flight
            inRun.withValue { $0 -= 1 }
            return ScrapeOutput(ok: true, text: "x 1\n")
        }
        let outputs = Slots<ScrapeOutput>(count: 50)
        runConcurrently(count: 50, width: 50) { i in outputs.set(i, cache.output()) }
        #expect(cache.runs == 1)
        #expect(maxInRun.current == 1)
        #expect(outputs.values.allSatisfy { $0.text.hasPrefix("x 1\n") && $0.text.contains("certs_exporter_check_runs_total 1\n") })
        usleep(600_000)
        runConcurrently(count: 10, width: 10) { _ in _ = cache.output() }
        #expect(cache.runs == 2, "a stale result is refreshed once, not once per caller")
    }

    @Test func aFailedRunIsServedAsItIsWithoutTheExporterSeries() {
        let cache = CachedCheckRun(interval: 60) { ScrapeOutput(ok: false, text: "certs check could not run: x\n") }
        let out = cache.output()
        #expect(!out.ok && out.text == "certs check could not run: x\n")
    }
}
