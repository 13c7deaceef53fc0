#if canImport(Glibc)
import Glibc
#endif
import Synchronization

// The one concurrency mechanism of CertsCore: POSIX threads and the standard library's `Mutex`. Blocking network I/O
// (handshakes, challenge responders, the exporter) must not wait for a CPU-sized pool, and
// libdispatch/Swift concurrency cost start-up (issue 14). Everything that runs on more than one
// thread goes through the three types here.

/// A lock without a value of its own (for guarding state that lives elsewhere, such as an
/// OpenSSL object). Backed by the standard library's `Synchronization.Mutex`.
public final class Lock: Sendable {
    private let mutex = Mutex<Void>(())
    public init() {}
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try mutex.withLock { _ in
            // `Mutex.withLock` wants a `sending` result; the caller's value never escapes the lock
            // to another thread here, so hand it over unchecked.
            nonisolated(unsafe) let r = Result<T, E>(catching: body)
            return UncheckedBox(r)
        }.value.get()
    }
}

/// A value shared between threads; every read and write holds its mutex.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: Mutex<UncheckedBox<Value>>
    public init(_ value: Value) { mutex = Mutex(UncheckedBox(value)) }
    public func withValue<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try mutex.withLock { box in
            nonisolated(unsafe) let r = Result<T, E> { () throws(E) -> T in try body(&box.value) }
            return UncheckedBox(r)
        }.value.get()
    }
    public var current: Value { withValue { $0 } }
}

/// Carries a value across `Mutex`'s `sending` boundary; safe because the lock orders every access.
struct UncheckedBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// A thread of its own running `body` once; `join()` waits for it. When no thread can be created,
/// `body` runs on the caller's thread inside `start` (work is never dropped).
public final class WorkerThread: @unchecked Sendable {
    private var tid: pthread_t?

    private final class Box {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    public init(_ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        if rc == 0 {
            tid = t
        } else {
            Unmanaged<Box>.fromOpaque(context).takeRetainedValue().run()
        }
    }

    /// Waits for the thread to finish (at most once; later calls return at once).
    public func join() {
        guard let t = tid else { return }
        tid = nil
        pthread_join(t, nil)
    }
}

/// Runs `body(0..<count)` on `width` threads of its own. Indices are handed out under a lock;
/// returns when all are done.
public func runConcurrently(count: Int, width: Int, _ body: @escaping @Sendable (Int) -> Void) {
    guard count > 0 else { return }
    let threads = max(1, min(width, count))
    if threads == 1 { for i in 0..<count { body(i) }; return }
    let next = Locked(0)
    let workers = (0..<threads).map { _ in
        WorkerThread {
            while let i = next.withValue({ n -> Int? in
                guard n < count else { return nil }
                n += 1
                return n - 1
            }) { body(i) }
        }
    }
    for w in workers { w.join() }
}

/// One result slot per index, written by worker threads (each index by exactly one thread) and
/// read after they are joined. The buffer has a stable address, so concurrent writes to distinct
/// indices never touch shared Swift state.
public final class Slots<Value>: @unchecked Sendable {
    private let buffer: UnsafeMutableBufferPointer<Value?>
    public init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: nil)
    }
    deinit {
        buffer.baseAddress?.deinitialize(count: buffer.count)
        buffer.deallocate()
    }
    public func set(_ index: Int, _ value: Value) { buffer[index] = value }
    /// The values after every worker has been joined; a slot never written is a programming error.
    public var values: [Value] { buffer.map { $0! } }
    /// The value at `index` (after every worker has been joined), nil when none was set.
    public subscript(_ index: Int) -> Value? { buffer[index] }
}
