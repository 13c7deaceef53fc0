#if canImport(Glibc)
import Glibc
#endif

/// Writes the files one emitter produces all or none: every target is checked first, every new
/// file is staged as a hidden temp file in its own directory (same file system, so the final step
/// is a `rename(2)`), and only then are they renamed into place; a failure (or a SIGINT/SIGTERM,
/// through `Transaction`) while renaming puts the earlier files back.
///
/// What may be replaced: a file certs generated (it starts with `header`), or with `force` the
/// exact path the emitter produces, but never one of `inputs` (the stack file the command read),
/// whatever the flags.
public struct FileBatch {
    public struct File: Sendable {
        public let path: String
        public let contents: [UInt8]
        public let mode: mode_t
        public init(path: String, contents: [UInt8], mode: mode_t = 0o644) {
            self.path = path
            self.contents = contents
            self.mode = mode
        }
        public init(path: String, text: String, mode: mode_t = 0o644) {
            self.init(path: path, contents: Array(text.utf8), mode: mode)
        }
    }

    public var files: [File]
    /// The first bytes of a file certs generated; nil: no file counts as generated.
    public var header: String?
    /// Replace files certs did not generate (only at the paths in `files`).
    public var force = false
    /// Files the command read: never replaced, not even with `force`.
    public var inputs: [String] = []

    public init(files: [File], header: String?, force: Bool = false, inputs: [String] = []) {
        self.files = files
        self.header = header
        self.force = force
        self.inputs = inputs
    }

    /// Checks every target, then writes all files; returns their paths.
    @discardableResult
    public func write() throws -> [String] {
        var previous: [(path: String, contents: [UInt8], mode: mode_t)?] = []
        for file in files {
            previous.append(try check(file.path))
        }
        let transaction = Transaction("the files in \(files.map { FileSystem.directoryName(of: $0.path) }.first ?? ".")")
        var staged: [String] = []
        defer { for path in staged { unlink(path) } }
        for file in files {
            let dir = FileSystem.directoryName(of: file.path)
            try FileSystem.makeDirectories(dir)
            let temp = "\(dir)/.\(FileSystem.baseName(of: file.path)).certs-staged-\(FileSystem.randomSuffix())"
            try FileSystem.writeAtomically(file.contents, to: temp, mode: file.mode, existing: .refuse, sync: false)
            staged.append(temp)
        }
        for dir in Set(files.map { FileSystem.directoryName(of: $0.path) }) { FileSystem.syncFileSystem(containing: dir) }
        for (index, file) in files.enumerated() {
            guard rename(staged[index], file.path) == 0 else {
                let reason = FileSystem.errorString(errno)
                transaction.rollBack()
                throw OutputError.cannotWrite(path: file.path, reason: reason)
            }
            staged[index] = ""
            let old = previous[index]
            transaction.onRollback {
                if let old {
                    try FileSystem.writeAtomically(old.contents, to: old.path, mode: old.mode, existing: .replace)
                } else {
                    try FileSystem.remove(file.path)
                }
            }
            try transaction.checkpoint()
        }
        staged = []
        for dir in Set(files.map { FileSystem.directoryName(of: $0.path) }) { FileSystem.syncDirectory(dir) }
        try transaction.checkpoint()
        transaction.commit()
        return files.map(\.path)
    }

    /// What is at `path` now (to restore on failure), after refusing what must not be replaced.
    func check(_ path: String) throws -> (path: String, contents: [UInt8], mode: mode_t)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        for input in inputs {
            var other = stat()
            if stat(input, &other) == 0, stat(path, &st) == 0, other.st_dev == st.st_dev, other.st_ino == st.st_ino {
                throw OutputError.isInput(path: path, input: input)
            }
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw OutputError.cannotWrite(path: path, reason: "is a directory") }
        let contents = (try? FileSystem.read(path, limit: 64 << 20)) ?? []
        let generated = header.map { contents.starts(with: Array($0.utf8)) } ?? false
        if !generated && !force { throw OutputError.exists(path: path) }
        return (path, contents, st.st_mode & 0o7777)
    }
}
