#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File access with the guarantees a tool holding private keys needs: bounded reads with precise
/// errors, and writes that are atomic (temp file in the same directory + rename), mode-exact
/// whatever the umask, never follow a planted symlink, and never clobber unless asked.
public enum FileSystem {
    /// Inputs larger than this are refused: no certificate, key or CSR is anywhere near it.
    public static let maximumInputSize = 16 * 1024 * 1024

    /// `count` bytes of `fd`, from `offset` (pread) or from where it is (read), retrying EINTR; nil
    /// when the file ends or fails first.
    static func readFully(_ fd: Int32, count: Int, at offset: Int? = nil) -> [UInt8]? {
        var filled = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while filled < count {
                let at = buffer.baseAddress! + filled
                let n = offset.map { pread(fd, at, count - filled, off_t($0 + filled)) } ?? Glibc.read(fd, at, count - filled)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                filled += n
            }
            initialized = filled
        }
        return filled == count ? bytes : nil
    }

    /// One open/fstat/read of an ordinary file of 1 to `limit` bytes, its descriptor left open for
    /// the caller to close, with the `fstat` of what was read; nil, with nothing left open, on
    /// anything unusual (`read` then says what).
    static func openAndRead(_ path: String, limit: Int) -> (fd: Int32, bytes: [UInt8], status: stat)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0, Int(st.st_size) <= limit,
              let bytes = readFully(fd, count: Int(st.st_size)) else {
            close(fd)
            return nil
        }
        return (fd, bytes, st)
    }

    /// One open/fstat/read/close for an ordinary small file (a certificate, a cache shard); nil on
    /// anything unusual, so that `read` can produce its precise error. No error value is made for a
    /// file that is not there (every shard of a first run).
    static func quickRead(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
        guard let (fd, bytes, _) = openAndRead(path, limit: limit) else { return nil }
        close(fd)
        return bytes
    }

    /// Reads a whole file, mapping every failure to an `InputError` naming the path.
    public static func read(_ path: String, limit: Int = maximumInputSize) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw inputError(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw inputError(path: path, errno: errno) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw InputError.isDirectory(path: path) }
        if Int(st.st_size) > limit { throw InputError.tooLarge(path: path, limit: limit) }
        var result: [UInt8] = []
        result.reserveCapacity(max(Int(st.st_size), 0))
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw inputError(path: path, errno: errno)
            }
            if n == 0 { break }
            result.append(contentsOf: buffer[0..<n])
            if result.count > limit { throw InputError.tooLarge(path: path, limit: limit) }
        }
        if result.isEmpty { throw InputError.empty(path: path) }
        return result
    }

    static func inputError(path: String, errno code: Int32) -> InputError {
        switch code {
        case ENOENT, ENOTDIR: return .notFound(path: path)
        case EISDIR: return .isDirectory(path: path)
        default: return .unreadable(path: path, reason: errorString(code))
        }
    }

    public static func errorString(_ code: Int32) -> String {
        String(cString: strerror(code)).lowercased()
    }

    public enum Existing: Sendable {
        /// Fail with `OutputError.exists` when the path exists (the default for keys).
        case refuse
        /// Atomically replace what is there.
        case replace
    }

    /// Writes `bytes` to `path` atomically with exactly `mode`.
    ///
    /// The temp file is created `O_EXCL | O_NOFOLLOW` with mode 0600 and only then `fchmod`-ed,
    /// so a secret is never readable by others, not even for a moment, whatever the umask.
    /// With `.refuse`, the final step is `link(2)`, which fails if anything (even a dangling
    /// symlink) appeared at `path` meanwhile: there is no check-then-write race.
    ///
    /// `sync: false` skips the per-file flushes for batches of regenerable files; the caller
    /// then makes the batch durable at once with `syncFileSystem(containing:)`.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, existing: Existing = .refuse, sync: Bool = true) throws {
        let dir = directoryName(of: path)
        var st = stat()
        if stat(dir, &st) != 0 || (st.st_mode & S_IFMT) != S_IFDIR {
            throw OutputError.directoryMissing(path: dir)
        }
        if existing == .refuse, lstat(path, &st) == 0 {
            throw OutputError.exists(path: path)
        }
        let tmp = "\(dir)/.\(baseName(of: path)).tmp-\(randomSuffix())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0 { throw OutputError.cannotWrite(path: path, reason: errorString(errno)) }
        var committed = false
        defer { if !committed { unlink(tmp) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw OutputError.cannotWrite(path: path, reason: errorString(errno)) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OutputError.cannotWrite(path: path, reason: errorString(errno))
                }
                offset += n
            }
            if sync {
                guard fsync(fd) == 0 else { throw OutputError.cannotWrite(path: path, reason: errorString(errno)) }
            }
        }
        switch existing {
        case .replace:
            guard rename(tmp, path) == 0 else { throw OutputError.cannotWrite(path: path, reason: errorString(errno)) }
            committed = true
        case .refuse:
            if link(tmp, path) != 0 {
                let code = errno
                if code == EEXIST { throw OutputError.exists(path: path) }
                throw OutputError.cannotWrite(path: path, reason: errorString(code))
            }
            unlink(tmp)
            committed = true
        }
        if sync { syncDirectory(dir) }
    }

    /// Flushes the whole file system holding `path` (`syncfs(2)`): one flush for a batch of writes.
    public static func syncFileSystem(containing path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = certs_syncfs(fd); close(fd) }
    }

    /// Flushes a directory entry change (rename, link) to disk.
    public static func syncDirectory(_ dir: String) {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Creates `path` and missing parents with `mode` (like `mkdir -p`).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return }
            throw OutputError.cannotWrite(path: path, reason: "exists and is not a directory")
        }
        let parent = directoryName(of: path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw OutputError.cannotWrite(path: path, reason: errorString(errno))
        }
        _ = chmod(path, mode)
    }

    /// Removes a file; a missing file is not an error.
    public static func remove(_ path: String) throws {
        if unlink(path) != 0 && errno != ENOENT {
            throw OutputError.cannotWrite(path: path, reason: errorString(errno))
        }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// The permission bits of `path`, or nil when it cannot be stat-ed.
    public static func mode(of path: String) -> mode_t? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return st.st_mode & 0o7777
    }

    public static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    public static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// Names in a directory (not recursive), sorted; hidden entries skipped unless asked for
    /// (never `.` and `..`).
    public static func list(_ dir: String, hidden: Bool = false) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." || (!hidden && name.hasPrefix(".")) { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// `PID-RANDOM`: the writer's pid first, so a temporary left by a killed process (SIGKILL,
    /// power loss) can be told from one a live writer still owns (`removeStaleTemporaries`).
    static func randomSuffix() -> String {
        var rng = SystemRandomNumberGenerator()
        return "\(getpid())-" + String(rng.next() as UInt64, radix: 36)
    }

    /// Removes `.NAME.tmp-PID-RANDOM` entries (files or staging directories) in `directory` whose
    /// writer is gone: SIGKILL cannot be caught, so the next writer cleans up after the dead one.
    /// Entries of a live process (including this one), or without a pid, are left alone.
    public static func removeStaleTemporaries(in directory: String) {
        for entry in list(directory, hidden: true) where entry.hasPrefix(".") {
            guard let marker = entry.firstRange(of: ".tmp-") else { continue }
            let rest = entry[marker.upperBound...]
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0 else { continue }
            if pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH { continue }
            let path = "\(directory)/\(entry)"
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                // A store staging directory: flat, its own files only.
                for file in list(path, hidden: true) { unlink("\(path)/\(file)") }
                rmdir(path)
            } else {
                unlink(path)
            }
        }
    }
}

extension String {
    /// A string from a NUL-terminated C buffer (stops at the first NUL).
    init(cBuffer buffer: [CChar]) {
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        self = String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// glibc's syncfs(2), which the Glibc module hides behind _GNU_SOURCE.
@_silgen_name("syncfs")
private func certs_syncfs(_ fd: Int32) -> Int32

extension FileSystem {
    /// `path` made absolute against the working directory (as given when that cannot be read):
    /// what a record that outlives this run (a renewal record's CA bundle) stores.
    public static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        return String(cString: buffer) + "/" + path
    }
}
