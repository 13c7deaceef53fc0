#if canImport(Glibc)
import Glibc
#endif

extension ChainVerifier {
    /// One file's certificates, as `verify(fileCertificates:…)` takes them.
    public struct FileInput: @unchecked Sendable {
        public let source: String
        public let certificates: [Certificate]
        public init(source: String, certificates: [Certificate]) {
            self.source = source
            self.certificates = certificates
        }
    }

    /// Verifies many files, spreading them over `workers` threads; reports come back in input order.
    ///
    /// The work is OpenSSL's (public-key decoding and signature checks), and both the trust store
    /// (`X509_STORE`, internally locked) and parsed certificates may be shared between threads:
    /// each verification has its own `X509_STORE_CTX`. Small batches stay on one thread.
    public func verifyAll(_ inputs: [FileInput], extraChain: [Certificate] = [], extraOrigin: String = "--chain",
                          workers: Int = ChainVerifier.defaultWorkers) throws -> [VerificationReport] {
        let width = inputs.count < 64 ? 1 : max(1, min(workers, inputs.count / 32))
        if width == 1 {
            return try inputs.map { try verify(fileCertificates: $0.certificates, source: $0.source, extraChain: extraChain, extraOrigin: extraOrigin) }
        }
        let results = Slots<Result<VerificationReport, Error>>(count: inputs.count)
        nonisolated(unsafe) let verifier = self  // immutable here; its OpenSSL objects are safe to share for verification
        // Threads of our own, not Dispatch: linking libdispatch costs every command's start-up.
        runConcurrently(count: width, width: width) { worker in
            var i = worker
            while i < inputs.count {
                results.set(i, Result { try verifier.verify(fileCertificates: inputs[i].certificates, source: inputs[i].source,
                                                            extraChain: extraChain, extraOrigin: extraOrigin) })
                i += width
            }
        }
        return try results.values.map { try $0.get() }
    }

    /// The machine's online CPUs.
    public static var defaultWorkers: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

