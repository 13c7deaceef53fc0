internal import COpenSSL

/// An owning wrapper over an OpenSSL memory `BIO`, the pipe every PEM/DER reader and writer uses.
final class MemoryBIO {
    let pointer: OpaquePointer

    /// An empty, writable memory BIO.
    init() throws {
        pointer = try ossl("allocating a memory buffer") { BIO_new(BIO_s_mem()) }
    }

    /// A BIO that reads a copy of `bytes`.
    init(_ bytes: [UInt8]) throws {
        let bio = try ossl("allocating a memory buffer") { BIO_new(BIO_s_mem()) }
        pointer = bio
        if !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32($0.count)) }
            guard written == Int32(bytes.count) else { throw OpenSSLError.drain("buffering input") }
        }
    }

    deinit { BIO_free(pointer) }

    /// Everything written so far.
    var bytes: [UInt8] {
        var data: UnsafeMutablePointer<CChar>? = nil
        let length = certs_BIO_get_mem_data(pointer, &data)
        guard length > 0, let data else { return [] }
        return data.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Serialises an object through a writer such as `i2d_X509_bio` or `PEM_write_bio_X509`.
func serialize(_ operation: @autoclosure () -> String, _ write: (OpaquePointer) -> Int32) throws -> [UInt8] {
    let bio = try MemoryBIO()
    try osslCheck(operation()) { write(bio.pointer) }
    return bio.bytes
}
