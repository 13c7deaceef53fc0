/// Reads one HTTP/1.x response from a transport: status line, headers, then the body framed by
/// chunked encoding, Content-Length, or the end of the connection; 1xx interim responses skipped.
struct HTTPResponseReader {
    let transport: HTTPTransport
    let host: String
    let limit: Int
    let deadline: Deadline
    private var buffer: [UInt8] = []
    private var position = 0
    /// Bytes read from the transport so far (0: the server answered nothing).
    private(set) var total = 0
    private var eof = false
    /// The last response was HTTP/1.1, framed (length known, read to its end), not `Connection:
    /// close`, and nothing followed it: the connection may carry another request.
    private(set) var reusable = false

    init(transport: HTTPTransport, host: String, limit: Int, deadline: Deadline) {
        self.transport = transport
        self.host = host
        self.limit = limit
        self.deadline = deadline
    }

    func bad(_ detail: String) -> HTTPError { .protocolError(host: host, detail: detail) }

    /// Reads more bytes into the buffer; false at end of stream.
    private mutating func fill() throws -> Bool {
        if eof { return false }
        if position > 0 && position == buffer.count { buffer.removeAll(keepingCapacity: true); position = 0 }
        let chunk = 16 * 1024
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let n = try buffer.withUnsafeMutableBytes { try transport.read(into: $0.baseAddress! + start, count: chunk, deadline: deadline) }
        buffer.removeLast(chunk - n)
        if n == 0 { eof = true; return false }
        total += n
        if total > limit + 64 * 1024 { throw HTTPError.tooLarge(host: host, limit: limit) }
        return true
    }

    /// One line without its CRLF (a bare LF is accepted).
    private mutating func line(maximum: Int = 16 * 1024) throws -> String? {
        while true {
            if let nl = buffer[position...].firstIndex(of: 0x0A) {
                var end = nl
                if end > position && buffer[end - 1] == 0x0D { end -= 1 }
                let text = String(decoding: buffer[position..<end], as: UTF8.self)
                position = nl + 1
                return text
            }
            if buffer.count - position > maximum { throw bad("a header line longer than \(maximum / 1024) KiB") }
            guard try fill() else { return nil }
        }
    }

    private mutating func bytes(_ count: Int, into body: inout [UInt8]) throws {
        var needed = count
        while needed > 0 {
            if position == buffer.count {
                guard try fill() else { throw bad("the connection closed before the end of the body") }
            }
            let take = min(needed, buffer.count - position)
            body.append(contentsOf: buffer[position..<(position + take)])
            position += take
            needed -= take
        }
    }

    mutating func read(isHEAD: Bool) throws -> HTTPResponse {
        while true {
            guard let statusLine = try line() else {
                throw bad(total == 0 ? "the connection closed without a response" : "the connection closed in the status line")
            }
            if statusLine.isEmpty { continue }  // tolerate a stray CRLF before the status line
            let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let status = Int(parts[1]) else {
                throw bad("the status line is not HTTP/1.x")
            }
            var headers: [(String, String)] = []
            while true {
                guard let l = try line() else { throw bad("the connection closed in the headers") }
                if l.isEmpty { break }
                if l.first == " " || l.first == "\t", let last = headers.popLast() {  // obsolete line folding
                    headers.append((last.0, last.1 + " " + l.trimmingSpaces))
                    continue
                }
                guard let colon = l.firstIndex(of: ":") else { throw bad("a header line without ':'") }
                headers.append((String(l[..<colon]).trimmingSpaces, String(l[l.index(after: colon)...]).trimmingSpaces))
                if headers.count > 500 { throw bad("more than 500 headers") }
            }
            if status >= 100 && status < 200 { continue }
            let response = HTTPResponse(status: status, headers: headers, body: [])
            let persistent = parts[0] == "HTTP/1.1"
                && !response.headers(named: "Connection").contains { $0.lowercased().split(separator: ",").contains { $0.trimmingSpaces == "close" } }
            if isHEAD || status == 204 || status == 304 {
                reusable = persistent && position == buffer.count
                return response
            }
            var body: [UInt8] = []
            var framed = true
            if let te = response.header("Transfer-Encoding"), te.lowercased().contains("chunked") {
                try readChunked(into: &body)
            } else if let cl = response.header("Content-Length") {
                let values = Set(response.headers(named: "Content-Length").flatMap { $0.split(separator: ",").map { $0.trimmingSpaces } })
                guard values.count == 1, let length = Int(cl.split(separator: ",")[0].trimmingSpaces), length >= 0 else {
                    throw bad("an invalid Content-Length")
                }
                guard length <= limit else { throw HTTPError.tooLarge(host: host, limit: limit) }
                body.reserveCapacity(length)
                try bytes(length, into: &body)
            } else {
                framed = false
                while true {
                    body.append(contentsOf: buffer[position...])
                    position = buffer.count
                    if body.count > limit { throw HTTPError.tooLarge(host: host, limit: limit) }
                    guard try fill() else { break }
                }
            }
            reusable = persistent && framed && !eof && position == buffer.count
            return HTTPResponse(status: status, headers: headers, body: body)
        }
    }

    private mutating func readChunked(into body: inout [UInt8]) throws {
        while true {
            guard let sizeLine = try line() else { throw bad("the connection closed in a chunk header") }
            let hex = sizeLine.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpaces } ?? ""
            guard !hex.isEmpty, hex.count <= 12, let size = Int(hex, radix: 16), size >= 0 else { throw bad("an invalid chunk size") }
            if size == 0 {
                while let trailer = try line(), !trailer.isEmpty {}
                return
            }
            guard body.count + size <= limit else { throw HTTPError.tooLarge(host: host, limit: limit) }
            try bytes(size, into: &body)
            guard let end = try line(), end.isEmpty else { throw bad("a chunk not followed by CRLF") }
        }
    }
}
