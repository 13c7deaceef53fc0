#if canImport(Glibc)
import Glibc
#endif

// The one concurrency mechanism of CertsCore: POSIX threads with a mutex. Blocking network I/O
// (handshakes, challenge responders, the exporter) must not wait for a CPU-sized pool, and
// libdispatch/Swift concurrency cost start-up (issue 14). Everything that runs on more than one
// thread goes through the three types here.

/// A pthread mutex at a stable address (never `&storedProperty`, which Swift does not pin).
public final class Lock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    public init() { pthread_mutex_init(mutex, nil) }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A value shared between threads; every read and write holds its lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = Lock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withValue<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        try lock.withLock { try body(&value) }
    }
    public var current: Value { lock.withLock { value } }
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
}
