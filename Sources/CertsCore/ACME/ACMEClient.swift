/// The endpoints and metadata of an ACME server (RFC 8555 §7.1.1).
public struct ACMEDirectory: Sendable {
    public let url: String
    public let newNonce: String
    public let newAccount: String
    public let newOrder: String
    public let revokeCert: String?
    public let renewalInfo: String?
    /// Account key rollover (RFC 8555 §7.3.5), when offered.
    public let keyChange: String?
    public let termsOfService: String?
    public let externalAccountRequired: Bool
    /// Certificate profiles the CA offers (draft-ietf-acme-profiles): name and description, in order.
    public let profiles: [(name: String, description: String)]
    /// The domains CAA records name this CA by (`meta.caaIdentities`, RFC 8555 §7.1.1).
    public var caaIdentities: [String] = []

    /// The directory object as the server sends it; fields we do not use are ignored.
    struct Wire: Decodable {
        struct Meta: Decodable {
            let termsOfService: String?
            let externalAccountRequired: Bool?
            let profiles: [String: String]?
            let caaIdentities: [String]?
        }
        let newNonce: String?
        let newAccount: String?
        let newOrder: String?
        let revokeCert: String?
        let renewalInfo: String?
        let keyChange: String?
        let meta: Meta?
    }

    init(url: String, wire: Wire) throws {
        func endpoint(_ value: String?, _ name: String) throws -> String {
            guard let v = value, v.hasPrefix("https://") || v.hasPrefix("http://") else {
                throw ACMEError.protocolViolation("\(url) is not an ACME directory (no \(name))")
            }
            return v
        }
        self.url = url
        newNonce = try endpoint(wire.newNonce, "newNonce")
        newAccount = try endpoint(wire.newAccount, "newAccount")
        newOrder = try endpoint(wire.newOrder, "newOrder")
        revokeCert = wire.revokeCert
        renewalInfo = wire.renewalInfo
        keyChange = wire.keyChange
        termsOfService = wire.meta?.termsOfService
        externalAccountRequired = wire.meta?.externalAccountRequired ?? false
        caaIdentities = wire.meta?.caaIdentities ?? []
        profiles = (wire.meta?.profiles ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}

/// An identifier in an order: `dns` names or `ip` addresses (RFC 8738).
public struct ACMEIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let type: String
    public let value: String

    public init(type: String, value: String) { self.type = type; self.value = value }

    /// A DNS name (checked, lower-cased; `*.` wildcards allowed) or an IPv4/IPv6 address.
    public init(parsing text: String) throws {
        if let ip = IPAddress.normalize(text) { self.init(type: "ip", value: ip); return }
        self.init(type: "dns", value: try HostName.validate(text))
    }

    public var isWildcard: Bool { type == "dns" && value.hasPrefix("*.") }
    public var json: JSON { .object([("type", .string(type)), ("value", .string(value))]) }
    public var generalName: GeneralName { type == "ip" ? .ip(value) : .dns(value) }
    public var description: String { value }
}

public struct ACMEChallenge: Sendable {
    public let type: String
    public let url: String
    public let token: String
    public let status: String
    public let error: ACMEProblem?
}

public struct ACMEAuthorization: Sendable {
    public let url: String
    public let identifier: ACMEIdentifier
    public let status: String
    public let wildcard: Bool
    public let challenges: [ACMEChallenge]

    /// An authorization object (RFC 8555 §7.1.4); a challenge without type or URL is skipped.
    struct Wire: Decodable {
        struct Identifier: Decodable { let type: String; let value: String }
        struct Challenge: Decodable { let type: String?; let url: String?; let token: String?; let status: String?; let error: JSON? }
        let identifier: Identifier
        let status: String
        let wildcard: Bool?
        let challenges: [Challenge]?
    }

    init(url: String, wire: Wire) {
        self.url = url
        wildcard = wire.wildcard ?? false
        identifier = ACMEIdentifier(type: wire.identifier.type, value: wildcard ? "*.\(wire.identifier.value)" : wire.identifier.value)
        status = wire.status
        challenges = (wire.challenges ?? []).compactMap { c in
            guard let t = c.type, let u = c.url else { return nil }
            return ACMEChallenge(type: t, url: u, token: c.token ?? "", status: c.status ?? "", error: c.error.flatMap { ACMEProblem(json: $0) })
        }
    }
}

public struct ACMEOrder: Sendable {
    public let url: String
    public let status: String
    public let authorizations: [String]
    public let finalize: String
    public let certificate: String?
    public let error: ACMEProblem?

    /// An order object (RFC 8555 §7.1.3).
    struct Wire: Decodable {
        let status: String
        let finalize: String
        let authorizations: [String]?
        let certificate: String?
        let error: JSON?
    }

    init(url: String, wire: Wire) {
        self.url = url
        status = wire.status
        authorizations = wire.authorizations ?? []
        finalize = wire.finalize
        certificate = wire.certificate
        error = wire.error.flatMap { ACMEProblem(json: $0) }
    }
}

/// One certificate chain as the server sent it (PEM), with where it came from.
public struct ACMEChain: Sendable {
    public let url: String
    public let pem: [UInt8]
}

/// Retry, backoff and polling limits.
public struct ACMEPolicy: Sendable {
    /// Attempts for a request answered 5xx or 429 (the first included).
    public var attempts = 4
    /// The longest wait between attempts, whatever Retry-After says.
    public var maximumRetryWait: Double = 30
    /// badNonce retries per request (RFC 8555 §6.5: the client should retry with the fresh nonce).
    public var badNonceRetries = 5
    /// How long an authorization or order may stay pending/processing.
    public var pollTimeout: Double = 180
    /// First poll interval; doubles up to `maximumPollInterval` unless Retry-After says otherwise.
    /// Short, because a CA on the same network (Pebble, a private CA) validates in tens of
    /// milliseconds and a fixed 0.3 s first wait was most of a one-name request; doubling keeps
    /// a slow public CA at a handful of polls (0.05, 0.15, 0.35, 0.75, 1.55 s, then every 5 s).
    public var firstPollInterval: Double = 0.05
    public var maximumPollInterval: Double = 5

    public init() {}
}

/// A blocking ACME v2 client (RFC 8555) over `HTTPClient`.
public final class ACMEClient {
    public let directory: ACMEDirectory
    public private(set) var accountKey: PrivateKey
    public private(set) var accountURL: String?
    public var policy: ACMEPolicy
    /// Called with progress lines (for --verbose).
    public var log: (String) -> Void = { _ in }
    /// How the client waits between polls; the standalone challenge server serves meanwhile.
    public var wait: (Double) -> Void = { pause($0) }
    /// The wall clock, for HTTP-date Retry-After values.
    public var now: () -> Int64 = currentUnixTime

    let http: HTTPClient
    let jwsAlgorithm: String
    /// Locked: the authorizations of one order are validated on several threads.
    private let nonces = Locked<[String]>([])

    /// Fetches the directory at `directoryURL`.
    public init(directoryURL: String, accountKey: PrivateKey, http: HTTPClient, policy: ACMEPolicy = ACMEPolicy(), log: @escaping (String) -> Void = { _ in }) throws {
        self.http = http
        self.log = log
        self.accountKey = accountKey
        self.policy = policy
        jwsAlgorithm = try JWS.algorithm(for: accountKey)
        // A directory URL that redirects is followed (same scheme, at most 5 hops); failures name the target.
        var url = directoryURL
        var response: HTTPResponse
        var hops = 0
        while true {
            response = try Self.sendWithRetries(http: http, policy: policy, now: currentUnixTime, wait: { pause($0) }, log: log,
                                                request: HTTPRequest(method: "GET", url: url))
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") else { break }
            let next = Self.resolve(location, against: url)
            hops += 1
            guard hops <= Self.maximumDirectoryRedirects else {
                throw ACMEError.protocolViolation("\(directoryURL) redirects more than \(Self.maximumDirectoryRedirects) times (last to \(Self.safeURL(next)))")
            }
            guard next.lowercased().hasPrefix(url.lowercased().hasPrefix("https://") ? "https://" : "http://") else {
                throw ACMEError.protocolViolation("\(directoryURL) redirects to \(Self.safeURL(next)), another scheme: not followed")
            }
            log("directory \(url) redirects to \(next)")
            url = next
        }
        let context = url == directoryURL ? "reading the directory" : "reading the directory (\(directoryURL) redirected to \(Self.safeURL(url)))"
        guard response.status == 200 else { throw Self.failure(response, url: url, context: context) }
        directory = try ACMEDirectory(url: url, wire: try Self.decode(ACMEDirectory.Wire.self, response, url: url))
    }

    // MARK: accounts

    /// Uses an existing account URL (from the account store) without asking the server.
    public func useAccount(_ url: String) { accountURL = url }

    /// Creates the account, or finds the existing one for this key (RFC 8555 §7.3). Returns its URL.
    @discardableResult
    public func registerAccount(contact: [String], agreeToTerms: Bool, externalAccountBinding: (keyID: String, macKey: [UInt8])?) throws -> String {
        if let tos = directory.termsOfService, !agreeToTerms { throw ACMEError.termsNotAgreed(url: tos) }
        if directory.externalAccountRequired && externalAccountBinding == nil { throw ACMEError.externalAccountRequired }
        var payload: [(String, JSON)] = []
        if !contact.isEmpty { payload.append(("contact", .strings(contact))) }
        if agreeToTerms { payload.append(("termsOfServiceAgreed", .bool(true))) }
        if let eab = externalAccountBinding {
            payload.append(("externalAccountBinding", try JWS.externalAccountBinding(keyID: eab.keyID, macKey: eab.macKey, accountKey: accountKey, url: directory.newAccount)))
        }
        let response = try post(directory.newAccount, payload: .object(payload), useJWK: true, context: "creating the account")
        guard let location = response.header("Location") else { throw ACMEError.protocolViolation("newAccount answer has no Location") }
        accountURL = location
        log("account: \(location)")
        return location
    }

    /// Finds the account of this key without creating one; nil when there is none.
    public func findAccount() throws -> String? {
        do {
            let response = try post(directory.newAccount, payload: .object([("onlyReturnExisting", .bool(true))]), useJWK: true, context: "looking up the account")
            accountURL = response.header("Location")
            return accountURL
        } catch let p as ACMEProblem where p.shortType == "accountDoesNotExist" {
            return nil
        }
    }

    /// The account object (RFC 8555 §7.3.3: POST-as-GET to the account URL).
    public func account() throws -> JSON {
        guard let url = accountURL else { throw ACMEError.noAccount("no ACME account: register first") }
        let response = try post(url, payload: nil, context: "reading the account")
        return try Self.parseJSON(response, url: url)
    }

    /// Replaces the account's contacts (RFC 8555 §7.3.2); returns the updated account object.
    public func updateAccount(contact: [String]) throws -> JSON {
        guard let url = accountURL else { throw ACMEError.noAccount("no ACME account: register first") }
        let response = try post(url, payload: .object([("contact", .strings(contact))]), context: "updating the account")
        return try Self.parseJSON(response, url: url)
    }

    /// Deactivates the account for good (RFC 8555 §7.3.6); returns the account object.
    public func deactivateAccount() throws -> JSON {
        guard let url = accountURL else { throw ACMEError.noAccount("no ACME account: register first") }
        let response = try post(url, payload: .object([("status", .string("deactivated"))]), context: "deactivating the account")
        return try Self.parseJSON(response, url: url)
    }

    /// Binds the account to `newKey` (RFC 8555 §7.3.5): an inner JWS signed by the new key
    /// inside an outer one signed by the current key. Afterwards this client signs with `newKey`.
    public func changeKey(to newKey: PrivateKey) throws {
        guard let url = directory.keyChange else { throw ACMEError.invalidRequest("\(directory.url) offers no key rollover (its directory has no keyChange)") }
        guard let account = accountURL else { throw ACMEError.noAccount("no ACME account: register first") }
        let inner = try JWS.sign(payload: .object([("account", .string(account)), ("oldKey", try JWS.jwk(for: accountKey))]),
                                 protected: [("jwk", try JWS.jwk(for: newKey)), ("url", .string(url))], key: newKey)
        _ = try post(url, payload: inner, context: "rolling the account key over")
        accountKey = newKey
        log("account key rolled over")
    }

    // MARK: orders

    /// A new order; `profile` selects one of the directory's profiles (checked before sending);
    /// `replaces` is the ARI certificate identifier of the certificate it renews (RFC 9773 §5).
    public func newOrder(_ identifiers: [ACMEIdentifier], profile: String? = nil, replaces: String? = nil) throws -> ACMEOrder {
        var payload: [(String, JSON)] = [("identifiers", .array(identifiers.map(\.json)))]
        if let replaces { payload.append(("replaces", .string(replaces))) }
        if let profile {
            let offered = directory.profiles.map(\.name)
            guard !offered.isEmpty else {
                throw ACMEError.invalidRequest("certificate profile \(profile): \(directory.url) offers no certificate profiles (its directory lists none)")
            }
            guard offered.contains(profile) else {
                throw ACMEError.invalidRequest("certificate profile \(profile): the CA offers \(offered.joined(separator: ", "))")
            }
            payload.append(("profile", .string(profile)))
        }
        let response = try post(directory.newOrder, payload: .object(payload), context: "creating the order")
        guard let location = response.header("Location") else { throw ACMEError.protocolViolation("newOrder answer has no Location") }
        log("order: \(location)")
        return ACMEOrder(url: location, wire: try Self.decode(ACMEOrder.Wire.self, response, url: location))
    }

    public func order(_ url: String) throws -> (ACMEOrder, HTTPResponse) {
        let response = try post(url, payload: nil, context: "reading the order")
        return (ACMEOrder(url: url, wire: try Self.decode(ACMEOrder.Wire.self, response, url: url)), response)
    }

    public func authorization(_ url: String) throws -> (ACMEAuthorization, HTTPResponse) {
        let response = try post(url, payload: nil, context: "reading an authorization")
        return (ACMEAuthorization(url: url, wire: try Self.decode(ACMEAuthorization.Wire.self, response, url: url)), response)
    }

    /// Tells the server the challenge is ready to be validated.
    public func respond(to challenge: ACMEChallenge) throws {
        log("ready: \(challenge.type) \(challenge.url)")
        _ = try post(challenge.url, payload: .object([]), context: "answering the \(challenge.type) challenge")
    }

    /// Polls until the authorization is valid; throws with the server's reason when invalid.
    public func waitUntilValid(authorization url: String) throws -> ACMEAuthorization {
        var interval = policy.firstPollInterval
        let start = Subprocess.monotonicSeconds()
        while true {
            let (authz, response) = try authorization(url)
            switch authz.status {
            case "valid": return authz
            case "pending", "processing": break
            default:
                let failed = authz.challenges.first { $0.error != nil }
                let detail = failed?.error.map { p in p.detail.isEmpty ? p.shortType : "\(p.detail) (\(p.shortType))" } ?? "the authorization is \(authz.status)"
                throw ACMEError.authorizationFailed(identifier: authz.identifier.value, detail: detail)
            }
            try pollWait(&interval, response: response, start: start, what: "validation of \(authz.identifier.value)")
        }
    }

    /// Sends the CSR and polls until the order is valid.
    public func finalize(_ order: ACMEOrder, csrDER: [UInt8]) throws -> ACMEOrder {
        var current = order
        if current.status == "ready" || current.status == "pending" {
            let response = try post(order.finalize, payload: .object([("csr", .string(Base64.urlEncode(csrDER)))]), context: "finalizing the order")
            current = ACMEOrder(url: order.url, wire: try Self.decode(ACMEOrder.Wire.self, response, url: order.finalize))
        }
        var interval = policy.firstPollInterval
        let start = Subprocess.monotonicSeconds()
        var last: HTTPResponse? = nil
        while true {
            switch current.status {
            case "valid":
                guard current.certificate != nil else { throw ACMEError.protocolViolation("valid order without a certificate URL") }
                return current
            case "invalid":
                throw ACMEError.orderInvalid(detail: current.error?.description ?? "no reason given")
            case "processing", "ready", "pending":
                if let last { try pollWait(&interval, response: last, start: start, what: "issuance") }
                else { try pollWait(&interval, response: nil, start: start, what: "issuance") }
                let (o, r) = try self.order(order.url)
                current = o
                last = r
            default:
                throw ACMEError.protocolViolation("order status \(current.status)")
            }
        }
    }

    /// The default chain and every alternate one (`Link: <…>;rel="alternate"`, RFC 8555 §7.4.2).
    public func downloadChains(_ url: String) throws -> [ACMEChain] {
        let first = try post(url, payload: nil, accept: "application/pem-certificate-chain", context: "downloading the certificate")
        var chains = [ACMEChain(url: url, pem: first.body)]
        for alternate in Self.links(first.headers(named: "Link"), rel: "alternate").prefix(8) {
            let r = try post(alternate, payload: nil, accept: "application/pem-certificate-chain", context: "downloading an alternate chain")
            chains.append(ACMEChain(url: alternate, pem: r.body))
        }
        return chains
    }

    /// Revokes a certificate (RFC 8555 §7.6), signed with the account key.
    public func revoke(certificateDER: [UInt8], reason: Int?) throws {
        guard let url = directory.revokeCert else { throw ACMEError.protocolViolation("the directory has no revokeCert endpoint") }
        var payload: [(String, JSON)] = [("certificate", .string(Base64.urlEncode(certificateDER)))]
        if let reason { payload.append(("reason", .int(reason))) }
        _ = try post(url, payload: .object(payload), context: "revoking the certificate")
    }

    /// The ACME Renewal Information for a certificate (RFC 9773), when the server offers it.
    public func renewalInfo(certificateID: String) throws -> (json: JSON, retryAfter: Double?)? {
        guard let base = directory.renewalInfo else { return nil }
        let url = base.hasSuffix("/") ? base + certificateID : base + "/" + certificateID
        let response = try Self.sendWithRetries(http: http, policy: policy, now: now, wait: wait, log: log, request: HTTPRequest(method: "GET", url: url))
        guard response.status == 200 else { throw Self.failure(response, url: url, context: "reading renewal information") }
        return (try Self.parseJSON(response, url: url), Self.retryAfter(response.header("Retry-After"), now: now()))
    }

    // MARK: transport

    public static let maximumDirectoryRedirects = 5

    /// A Location value as an absolute URL: absolute as given, "/path" on the same origin.
    static func resolve(_ location: String, against base: String) -> String {
        let l = location.trimmingSpaces
        if l.lowercased().hasPrefix("http://") || l.lowercased().hasPrefix("https://") { return l }
        guard let parsed = try? HTTPURL(base) else { return l }
        let origin = "\(parsed.isHTTPS ? "https" : "http")://\(parsed.authority)"
        if l.hasPrefix("/") { return origin + l }
        let dir = parsed.target.split(separator: "?").first.map { String($0[..<($0.lastIndex(of: "/") ?? $0.startIndex)]) } ?? ""
        return origin + dir + "/" + l
    }

    /// A URL for messages: scheme, authority and path only (a query may carry a token).
    static func safeURL(_ text: String) -> String { (try? HTTPURL(text))?.description ?? HTTPURL.redacted(text) }

    func pollWait(_ interval: inout Double, response: HTTPResponse?, start: Double, what: String) throws {
        if Subprocess.monotonicSeconds() - start > policy.pollTimeout {
            throw ACMEError.timedOut(what: what, seconds: Int(policy.pollTimeout))
        }
        var delay = interval
        if let ra = response.flatMap({ Self.retryAfter($0.header("Retry-After"), now: now()) }) {
            delay = min(max(ra, 0.1), policy.maximumPollInterval * 2)
        }
        wait(delay)
        interval = min(interval * 2, policy.maximumPollInterval)
    }

    func nonce() throws -> String {
        if let n = nonces.withValue({ $0.popLast() }) { return n }
        let response = try Self.sendWithRetries(http: http, policy: policy, now: now, wait: wait, log: log,
                                                request: HTTPRequest(method: "HEAD", url: directory.newNonce))
        guard let n = response.header("Replay-Nonce"), !n.isEmpty else {
            throw ACMEError.protocolViolation("\(directory.newNonce) gave no Replay-Nonce (HTTP \(response.status))")
        }
        return n
    }

    /// A signed POST (`payload` nil = POST-as-GET). Throws `ACMEProblem` on problem documents,
    /// after retrying badNonce with the fresh nonce the rejection carries.
    @discardableResult
    public func post(_ url: String, payload: JSON?, useJWK: Bool = false, accept: String? = nil, context: String) throws -> HTTPResponse {
        var badNonces = 0
        while true {
            var header: [(String, JSON)] = []
            if useJWK {
                header.append(("jwk", try JWS.jwk(for: accountKey)))
            } else {
                guard let accountURL else { throw ACMEError.noAccount("no ACME account: register first") }
                header.append(("kid", .string(accountURL)))
            }
            header.append(("nonce", .string(try nonce())))
            header.append(("url", .string(url)))
            let body = try JWS.sign(payload: payload, protected: header, key: accountKey)
            var headers = [("Content-Type", "application/jose+json")]
            if let accept { headers.append(("Accept", accept)) }
            let response = try Self.sendWithRetries(http: http, policy: policy, now: now, wait: wait, log: log,
                                                    request: HTTPRequest(method: "POST", url: url, headers: headers, body: Array(body.rendered(pretty: false).utf8)),
                                                    onResponse: { r in
                                                        if let n = r.header("Replay-Nonce"), !n.isEmpty { self.nonces.withValue { $0.append(n) } }
                                                    })
            if response.status < 300 { return response }
            let failure = Self.failure(response, url: url, context: context)
            if let p = failure as? ACMEProblem, p.shortType == "badNonce", badNonces < policy.badNonceRetries {
                badNonces += 1
                log("badNonce from the server; retrying with a fresh nonce (\(badNonces))")
                continue
            }
            throw failure
        }
    }

    /// Sends, retrying 5xx and 429 with bounded backoff that honours Retry-After.
    static func sendWithRetries(http: HTTPClient, policy: ACMEPolicy, now: () -> Int64, wait: (Double) -> Void, log: (String) -> Void,
                                request: HTTPRequest, onResponse: (HTTPResponse) -> Void = { _ in }) throws -> HTTPResponse {
        var attempt = 1
        var backoff = 1.0
        while true {
            let response = try http.send(request)
            onResponse(response)
            let retriable = response.status >= 500 || response.status == 429
            if !retriable || attempt >= policy.attempts { return response }
            let delay = min(retryAfter(response.header("Retry-After"), now: now()) ?? backoff, policy.maximumRetryWait)
            log("HTTP \(response.status) from \(request.url); retrying in \(delay) s (attempt \(attempt + 1) of \(policy.attempts))")
            wait(delay)
            backoff *= 2
            attempt += 1
        }
    }

    /// An error for a non-2xx answer: the problem document when there is one.
    static func failure(_ response: HTTPResponse, url: String, context: String) -> Error {
        if let json = try? JSONParser.parse(response.body), let problem = ACMEProblem(json: json, context: context) {
            // The HTTP status stands in when the document omits its own (409 for alreadyReplaced).
            if problem.status == nil {
                return ACMEProblem(type: problem.type, detail: problem.detail, status: response.status, subproblems: problem.subproblems, context: context)
            }
            return problem
        }
        let snippet = ACMEProblem.clean(String(decoding: response.body.prefix(200), as: UTF8.self))
        return ACMEError.httpStatus(url: url, status: response.status, body: snippet)
    }

    static func parseJSON(_ response: HTTPResponse, url: String) throws -> JSON {
        try decode(JSON.self, response, url: url)
    }

    /// An ACME object of a known shape; a body that is not JSON, or not that object, is one line.
    static func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, url: String) throws -> T {
        do { return try JSONParser.decode(T.self, from: response.body) } catch let e as JSONParseError {
            throw ACMEError.protocolViolation("\(url): \(e.description)")
        }
    }

    /// Retry-After as seconds from now: delta-seconds or an IMF-fixdate (RFC 9110 §10.2.3).
    public static func retryAfter(_ value: String?, now: Int64) -> Double? {
        guard let v = value?.trimmingSpaces, !v.isEmpty else { return nil }
        if let s = Int64(v) { return s >= 0 ? Double(s) : nil }
        guard let t = parseHTTPDate(v) else { return nil }
        return Double(max(t - now, 0))
    }

    /// "Sun, 06 Nov 1994 08:49:37 GMT" → Unix seconds.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = months.firstIndex(of: String(parts[2])) else { return nil }
        let hms = parts[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        let stamp = String(format4: year) + "-" + two(m + 1) + "-" + two(day) + "T" + two(hms[0]) + ":" + two(hms[1]) + ":" + two(hms[2]) + "Z"
        return RFC3339.parse(stamp)
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Targets of `Link` header values with the given relation.
    public static func links(_ values: [String], rel: String) -> [String] {
        var out: [String] = []
        for value in values {
            for part in value.split(separator: ",") {
                let fields = part.split(separator: ";").map { $0.trimmingSpaces }
                guard let target = fields.first, target.hasPrefix("<"), target.hasSuffix(">") else { continue }
                let rels = fields.dropFirst().filter { $0.lowercased().hasPrefix("rel=") }.map {
                    String($0.dropFirst(4)).replacing("\"", with: "")
                }
                if rels.contains(where: { $0.split(separator: " ").contains(Substring(rel)) }) {
                    out.append(String(target.dropFirst().dropLast()))
                }
            }
        }
        return out
    }
}
