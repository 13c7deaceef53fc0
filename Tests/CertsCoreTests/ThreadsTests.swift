import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import CertsCore

/// The one concurrency mechanism (Support/Threads.swift). CI also runs this suite, the batch
/// verification suites and the check scanner's parallel suites under ThreadSanitizer
/// (`scripts/test`), which is what proves the absence of races; these tests pin the behaviour.
@Suite struct ThreadsTests {
    @Test func everyIndexRunsExactlyOnceAcrossThreads() {
        let seen = Locked([Int](repeating: 0, count: 10_000))
        runConcurrently(count: 10_000, width: 8) { i in seen.withValue { $0[i] += 1 } }
        #expect(seen.current.allSatisfy { $0 == 1 })
    }

    @Test func slotsKeepInputOrderWhenWrittenFromManyThreads() {
        let slots = Slots<Int>(count: 5_000)
        runConcurrently(count: 5_000, width: 6) { i in slots.set(i, i * 3) }
        #expect(slots.values == (0..<5_000).map { $0 * 3 })
    }

    @Test func aWorkerThreadRunsBesideItsCallerAndJoinsOnce() {
        // The caller holds a value the worker waits for: only a real second thread can finish.
        let handshake = Locked(0)
        let worker = WorkerThread {
            while handshake.current == 0 { sched_yield() }
            handshake.withValue { $0 = 2 }
        }
        handshake.withValue { $0 = 1 }
        worker.join()
        worker.join()  // a second join returns at once
        #expect(handshake.current == 2)
    }

    @Test func aLockedValuePropagatesTheBodysError() {
        struct Boom: Error {}
        let value = Locked(1)
        #expect(throws: Boom.self) { try value.withValue { _ throws(Boom) in throw Boom() } }
        #expect(value.current == 1)
        let lock = Lock()
        #expect(lock.withLock { 41 + 1 } == 42)
    }
}
