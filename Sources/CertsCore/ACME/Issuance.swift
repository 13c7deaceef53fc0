/// Everything `certs request` needs to obtain and install one certificate.
public struct IssuanceRequest {
    public var directoryURL: String
    public var identifiers: [ACMEIdentifier]
    public var method: ChallengeMethod
    public var email: String?
    public var agreeToTerms: Bool
    public var externalAccountBinding: (keyID: String, macKey: [UInt8])?
    public var keyType: KeyType
    public var reuseKey: Bool
    public var name: String
    public var preferredChain: String?
    /// --dns-wait: an extra delay after the TXT records are visible on every authoritative server
    /// (for a CA whose resolvers cache, or DNS that is served by something the check cannot see).
    public var dnsPropagationWait: Double
    /// --dns-timeout: how long DNS-01 waits for the TXT records on the authoritative servers; 0
    /// skips that check (then only --dns-wait is waited).
    public var dnsTimeout: Double = 120
    /// --dns-resolver: the resolver for zone discovery and CAA (empty: /etc/resolv.conf).
    public var dnsResolvers: [DNSServer] = []
    /// RFC 8659 CAA check before ordering (--no-caa-check turns it off).
    public var checkCAA = true
    /// An ACME certificate profile the CA lists in its directory (e.g. "shortlived"), or nil.
    public var profile: String?
    /// The ARI identifier of the certificate this one renews (RFC 9773 §5): sent as `replaces`
    /// when the CA offers renewal information.
    public var replaces: String?
    /// With several CAs: send the External Account Binding only to a CA that requires one.
    public var eabOnlyWhereRequired = false

    public init(directoryURL: String, identifiers: [ACMEIdentifier], method: ChallengeMethod, email: String? = nil, agreeToTerms: Bool = false,
                externalAccountBinding: (keyID: String, macKey: [UInt8])? = nil, keyType: KeyType = .default, reuseKey: Bool = false,
                name: String, preferredChain: String? = nil, dnsPropagationWait: Double = 0, profile: String? = nil,
                replaces: String? = nil) {
        self.profile = profile
        self.replaces = replaces
        self.directoryURL = directoryURL
        self.identifiers = identifiers
        self.method = method
        self.email = email
        self.agreeToTerms = agreeToTerms
        self.externalAccountBinding = externalAccountBinding
        self.keyType = keyType
        self.reuseKey = reuseKey
        self.name = name
        self.preferredChain = preferredChain
        self.dnsPropagationWait = dnsPropagationWait
    }

    /// Checks identifiers before anything is sent: no duplicates, wildcards only with DNS-01.
    public static func validate(identifiers: [ACMEIdentifier], method: ChallengeMethod) throws {
        guard !identifiers.isEmpty else { throw ACMEError.invalidRequest("give at least one domain name") }
        var seen = Set<ACMEIdentifier>()
        for id in identifiers {
            guard seen.insert(id).inserted else { throw InputError.invalidValue(option: "domain", value: id.value, reason: "given twice") }
            if id.isWildcard, method.challengeType != "dns-01" {
                throw ACMEError.unsuitableChallenge(identifier: id.value, wildcard: true)
            }
            if id.type == "ip", method.challengeType == "dns-01" {
                throw ACMEError.unsuitableChallenge(identifier: id.value, wildcard: false)
            }
        }
        if identifiers.count > 100 { throw ACMEError.invalidRequest("at most 100 names per certificate") }
    }
}

public struct IssuanceResult {
    public let name: String
    public let paths: CertificateStore.Paths
    public let version: Int
    public let certificate: Certificate
    public let chain: [Certificate]
    public let accountURL: String
    public let orderURL: String
    public let keyReused: Bool
    /// Issuer CN of the top of the chain that was chosen.
    public let chainTop: String
    public let alternateChains: Int
    /// The directory of the CA that issued it (with fallback: which of the list).
    public var directoryURL: String = ""
    /// CAs tried before it and why each was passed over.
    public var passedOver: [(directoryURL: String, reason: String)] = []
}

/// ACME accounts under `<store>/accounts/<directory-host>/`: `account.key` (0600) and `account.json`.
public struct ACMEAccountStore {
    public let store: CertificateStore

    public init(store: CertificateStore) { self.store = store }

    /// `host` or `host_port` of a URL, safe as one path component.
    public static func directoryHost(_ url: String) throws -> String {
        var rest = Substring(url)
        guard let scheme = rest.firstRange(of: "://") else { throw InputError.invalidValue(option: "--acme", value: url, reason: "not an https:// URL") }
        rest = rest[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@").last.map(String.init) ?? ""
        var safe = ""
        for c in hostPort.lowercased().unicodeScalars {
            if (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "." || c == "-" { safe.unicodeScalars.append(c) }
            else if c == ":" { safe += "_" }
        }
        while safe.hasPrefix(".") || safe.hasPrefix("_") { safe.removeFirst() }
        guard !safe.isEmpty else { throw InputError.invalidValue(option: "--acme", value: url, reason: "no host") }
        return safe
    }

    public func directory(for url: String) throws -> String { "\(store.root)/accounts/\(try Self.directoryHost(url))" }

    /// The account key for this CA, created (EC P-256) when there is none.
    public func key(for url: String, create: Bool = true) throws -> (key: PrivateKey, created: Bool) {
        let dir = try directory(for: url)
        let path = "\(dir)/account.key"
        if FileSystem.exists(path) {
            return (try PrivateKey(bytes: try FileSystem.read(path), source: path), false)
        }
        guard create else { throw ACMEError.noAccount("no ACME account for \(url) in \(dir)") }
        try FileSystem.makeDirectories(dir, mode: 0o700)
        let key = try PrivateKey.generate(.ecP256)
        try FileSystem.writeAtomically(try key.pem(), to: path, mode: 0o600)
        return (key, true)
    }

    public func accountURL(for url: String) -> String? {
        guard let dir = try? directory(for: url), let bytes = try? FileSystem.read("\(dir)/account.json"),
              let json = try? JSONParser.parse(bytes) else { return nil }
        return json["url"]?.stringValue
    }

    /// `termsAgreed`: the terms-of-service URL the user agreed to (kept from the stored record when nil).
    public func save(accountURL: String, directoryURL: String, contact: [String], termsAgreed: String? = nil) throws {
        let dir = try directory(for: directoryURL)
        let terms = termsAgreed ?? self.termsAgreed(for: directoryURL)
        let json = JSON.object([("version", .int(1)), ("directory", .string(directoryURL)), ("url", .string(accountURL)), ("contact", .strings(contact)),
                                ("termsOfServiceAgreed", .optional(terms))])
        try FileSystem.writeAtomically(Array((json.rendered() + "\n").utf8), to: "\(dir)/account.json", mode: 0o644, existing: .replace)
    }

    /// The stored account record (url, contact, termsOfServiceAgreed), nil when there is none.
    public func record(for url: String) -> JSON? {
        guard let dir = try? directory(for: url), let bytes = try? FileSystem.read("\(dir)/account.json") else { return nil }
        return try? JSONParser.parse(bytes)
    }

    /// The terms-of-service URL agreed to when the account was made (what a re-registration may reuse).
    public func termsAgreed(for url: String) -> String? { record(for: url)?["termsOfServiceAgreed"]?.stringValue }

    /// Swaps in `newKey` for the CA's account key after `bind` told the CA (RFC 8555 §7.3.5). The
    /// new key is on disk (account.key.next) before the CA hears of it, and the old one is kept as
    /// account.key.STAMP.bak (0600, never overwritten). Returns the backup's path.
    public func rollover(directoryURL: String, newKey: PrivateKey, now: Int64, bind: () throws -> Void) throws -> String {
        let dir = try directory(for: directoryURL)
        let current = "\(dir)/account.key", next = "\(dir)/account.key.next"
        guard FileSystem.exists(current) else { throw ACMEError.noAccount("no ACME account for \(directoryURL) in \(dir)") }
        guard !FileSystem.exists(next) else {
            throw ACMEError.invalidRequest("an earlier rollover did not finish: \(next) exists (it may be the key the CA now knows); move it to \(current) or remove it")
        }
        let old = try FileSystem.read(current)
        try FileSystem.writeAtomically(try newKey.pem(), to: next, mode: 0o600)
        do { try bind() } catch {
            try? FileSystem.remove(next)
            throw error
        }
        let stamp = RFC3339.format(now).filter { $0 != "-" && $0 != ":" }
        var backup = "\(current).\(stamp).bak"
        var n = 2
        while FileSystem.exists(backup) { backup = "\(current).\(stamp)-\(n).bak"; n += 1 }
        try FileSystem.writeAtomically(old, to: backup, mode: 0o600)
        try FileSystem.writeAtomically(try newKey.pem(), to: current, mode: 0o600, existing: .replace)
        try? FileSystem.remove(next)
        return backup
    }
}

/// Drives one issuance: account, order, challenges, CSR, download, checks, install.
public struct ACMEIssuer {
    public let store: CertificateStore
    public let http: HTTPClient
    public var policy = ACMEPolicy()
    public var log: (String) -> Void = { _ in }

    public init(store: CertificateStore, http: HTTPClient) {
        self.store = store
        self.http = http
    }

    /// A client with the stored (or a new) account for the directory, registered on the server.
    /// `eabOnlyWhereRequired`: with several CAs, the binding goes only to one whose directory requires it.
    public func client(directoryURL: String, email: String?, agreeToTerms: Bool, eab givenEAB: (keyID: String, macKey: [UInt8])?, create: Bool = true,
                       eabOnlyWhereRequired: Bool = false) throws -> ACMEClient {
        let accounts = ACMEAccountStore(store: store)
        let (accountKey, _) = try accounts.key(for: directoryURL, create: create)
        let client = try ACMEClient(directoryURL: directoryURL, accountKey: accountKey, http: http, policy: policy, log: log)
        let eab = eabOnlyWhereRequired && !client.directory.externalAccountRequired ? nil : givenEAB
        let contact = email.map { ["mailto:\($0)"] } ?? []
        if let known = accounts.accountURL(for: directoryURL) {
            client.useAccount(known)
        } else if !create {
            guard let found = try client.findAccount() else { throw ACMEError.noAccount("the ACME server has no account for the stored key") }
            try accounts.save(accountURL: found, directoryURL: directoryURL, contact: contact)
        } else {
            let url = try client.registerAccount(contact: contact, agreeToTerms: agreeToTerms, externalAccountBinding: eab)
            try accounts.save(accountURL: url, directoryURL: directoryURL, contact: contact,
                              termsAgreed: agreeToTerms ? client.directory.termsOfService : nil)
        }
        return client
    }

    public func issue(_ request: IssuanceRequest) throws -> IssuanceResult {
        try IssuanceRequest.validate(identifiers: request.identifiers, method: request.method)
        try CertificateStore.validate(name: request.name)

        // The standalone server binds before any ACME traffic (a busy port fails fast) and answers
        // on its own thread from before the first challenge POST until the order is final: a CA
        // may validate while that POST is in flight (acme2certifier does).
        var server: ChallengeServer? = nil
        if case .standalone(let address, let port) = request.method {
            server = try ChallengeServer(address: address, port: port)
            try server?.start()
        }
        defer { server?.close() }
        var tlsResponder: TLSALPNResponder? = nil
        if case .tlsALPN(let address, let port) = request.method {
            tlsResponder = try TLSALPNResponder(address: address, port: port)
            try tlsResponder?.start()
        }
        defer { tlsResponder?.close() }

        let client = try self.client(directoryURL: request.directoryURL, email: request.email, agreeToTerms: request.agreeToTerms, eab: request.externalAccountBinding,
                                     eabOnlyWhereRequired: request.eabOnlyWhereRequired)

        let resolver = DNSResolver.configured(request.dnsResolvers)
        if request.checkCAA {
            var caa = CAACheck(resolver: resolver)
            caa.log = log
            try caa.check(request.identifiers, caaIdentities: client.directory.caaIdentities)
        }

        // RFC 9773 §5: `replaces` only to a CA that offers renewal information.
        let replaces = client.directory.renewalInfo == nil ? nil : request.replaces
        func newOrder() throws -> ACMEOrder {
            do {
                return try client.newOrder(request.identifiers, profile: request.profile, replaces: replaces)
            } catch let failure where replaces != nil && Self.isAlreadyReplaced(failure) {
                // The predecessor was already replaced (an earlier run's order, another client):
                // a renewal must not stop on that, so order once more as a plain new order.
                log("the CA says the certificate was already replaced (\(failure)); ordering without replaces")
                return try client.newOrder(request.identifiers, profile: request.profile, replaces: nil)
            }
        }
        let order: ACMEOrder
        do {
            order = try newOrder()
        } catch let p as ACMEProblem where p.shortType == "accountDoesNotExist" || (p.shortType == "unauthorized" && p.detail.lowercased().contains("account")) {
            // The stored account URL is unknown to the server (a reset test CA, a CA that lost its
            // database): register the key again, under the terms the user agreed to at request time.
            log("the CA does not know the stored account; registering again")
            let accounts = ACMEAccountStore(store: store)
            let contact = request.email.map { ["mailto:\($0)"] } ?? []
            var agree = request.agreeToTerms
            if let tos = client.directory.termsOfService, !agree {
                let agreed = accounts.termsAgreed(for: request.directoryURL)
                guard agreed == tos else { throw ACMEError.termsChanged(agreed: agreed, current: tos) }
                agree = true
            }
            let url = try client.registerAccount(contact: contact, agreeToTerms: agree, externalAccountBinding: request.externalAccountBinding)
            try accounts.save(accountURL: url, directoryURL: request.directoryURL, contact: contact,
                              termsAgreed: agree ? client.directory.termsOfService : nil)
            order = try newOrder()
        }
        var cleanups: [() -> Void] = []
        defer { for c in cleanups.reversed() { c() } }

        // Collect pending authorizations and set every challenge up before answering any.
        var ready: [(ACMEAuthorization, ACMEChallenge)] = []
        var txtRecords: [(name: String, values: [String])] = []
        for url in order.authorizations {
            let (authz, _) = try client.authorization(url)
            if authz.status == "valid" { log("\(authz.identifier): already authorized"); continue }
            guard authz.status == "pending" else {
                throw ACMEError.authorizationFailed(identifier: authz.identifier.value, detail: "the authorization is \(authz.status)")
            }
            let wanted = request.method.challengeType
            guard let challenge = authz.challenges.first(where: { $0.type == wanted }) else {
                throw ACMEError.noSupportedChallenge(identifier: authz.identifier.value, wanted: wanted, offered: authz.challenges.map(\.type))
            }
            guard Self.isSafeToken(challenge.token) else { throw ACMEError.protocolViolation("challenge token with unsafe characters") }
            let keyAuthorization = try JWS.keyAuthorization(token: challenge.token, accountKey: client.accountKey)
            switch request.method {
            case .standalone:
                server?.add(token: challenge.token, keyAuthorization: keyAuthorization)
            case .tlsALPN:
                try tlsResponder?.add(identifier: authz.identifier, keyAuthorization: keyAuthorization, now: currentUnixTime())
            case .webroot(let root):
                let dir = "\(root)/.well-known/acme-challenge"
                try FileSystem.makeDirectories(dir, mode: 0o755)
                let file = "\(dir)/\(challenge.token)"
                try FileSystem.writeAtomically(Array(keyAuthorization.utf8), to: file, mode: 0o644, existing: .replace)
                cleanups.append { try? FileSystem.remove(file) }
            case .dnsHook(let command):
                let base = authz.identifier.value.hasPrefix("*.") ? String(authz.identifier.value.dropFirst(2)) : authz.identifier.value
                let name = "_acme-challenge.\(base)"
                let value = JWS.dnsValue(keyAuthorization: keyAuthorization)
                try runHook(command, action: "add", name: name, value: value)
                cleanups.append { [self] in _ = try? self.runHook(command, action: "remove", name: name, value: value) }
                txtRecords.append((name, [value]))
            }
            ready.append((authz, challenge))
        }
        if case .dnsHook = request.method, request.dnsTimeout > 0, !txtRecords.isEmpty {
            var check = DNSPropagationCheck(resolver: resolver, timeout: request.dnsTimeout)
            check.log = log
            try check.waitUntilVisible(txtRecords)
        }
        if case .dnsHook = request.method, request.dnsPropagationWait > 0, !ready.isEmpty {
            log("waiting \(request.dnsPropagationWait) s more (--dns-wait)")
            pause(request.dnsPropagationWait)
        }
        try Self.validateConcurrently(ready, client: client, log: log)

        // Key and CSR: a new key unless --reuse-key and there is a live one.
        var key: PrivateKey? = nil
        if request.reuseKey, FileSystem.exists(store.paths(request.name).key) {
            key = try PrivateKey(bytes: try FileSystem.read(store.paths(request.name).key), source: store.paths(request.name).key)
        }
        let keyReused = key != nil
        let certificateKey = try key ?? PrivateKey.generate(request.keyType)
        let names = request.identifiers.map(\.generalName)
        let firstDNS = request.identifiers.first { $0.type == "dns" }?.value
        let csr = try CertificateSigningRequest.create(key: certificateKey, subject: DistinguishedName(commonName: firstDNS.flatMap { $0.utf8.count <= 64 ? $0 : nil }),
                                                       subjectAlternativeNames: names)
        let finalOrder = try client.finalize(order, csrDER: try csr.der())
        server?.close()
        tlsResponder?.close()
        let chains = try client.downloadChains(finalOrder.certificate!)

        // Pick the chain, check it against the request and the key, then install.
        var parsed: [(ACMEChain, [Certificate])] = []
        for chain in chains {
            let certs = try Certificate.parseAll(chain.pem, source: chain.url)
            guard !certs.isEmpty else { throw ACMEError.protocolViolation("\(chain.url) held no certificate") }
            parsed.append((chain, certs))
        }
        let chosen = Self.choose(parsed.map(\.1), preferred: request.preferredChain)
        if let preferred = request.preferredChain, chosen == 0, parsed[0].1.last?.issuer.commonName != preferred {
            log("no chain up to \(preferred) among \(parsed.count); using the CA's default chain")
        }
        let certs = parsed[chosen].1
        let leaf = certs[0]
        guard certificateKey.matches(leaf.publicKey) else { throw StoreError.keyMismatch(name: request.name) }
        let issued = Set(leaf.subjectAlternativeNames)
        for name in names where !issued.contains(name) {
            throw ACMEError.protocolViolation("the issued certificate lacks \(name)")
        }
        for i in 1..<max(certs.count, 1) where !certs[i - 1].isIssued(by: certs[i]) {
            throw ACMEError.protocolViolation("the chain from the server is out of order at certificate \(i + 1)")
        }
        let paths = try store.install(name: request.name, key: certificateKey, certificate: leaf, chain: Array(certs.dropFirst()))
        return IssuanceResult(name: request.name, paths: paths, version: store.currentVersion(request.name) ?? 0, certificate: leaf,
                              chain: Array(certs.dropFirst()), accountURL: client.accountURL ?? "", orderURL: order.url, keyReused: keyReused,
                              chainTop: (certs.last?.issuer.commonName) ?? "", alternateChains: chains.count - 1)
    }

    /// Issues from the first CA of `directories` that does: a CA that fails with an outage
    /// (no connection, a timeout, 5xx), a rate limit or a policy refusal is passed over for the
    /// next; any other failure (validation of the names, a bad request, the store) stops, since
    /// another CA would fail the same way. `replaces` is sent only to `replacesAt`, the CA that
    /// issued the certificate being renewed. `bindings`: External Account Bindings by directory
    /// URL, each sent only to its CA; a CA without one gets `request`'s binding, with several CAs
    /// only when its directory requires one.
    public func issue(_ request: IssuanceRequest, directories: [String], replacesAt: String? = nil,
                      bindings: [String: (keyID: String, macKey: [UInt8])] = [:]) throws -> IssuanceResult {
        precondition(!directories.isEmpty)
        var passed: [(directoryURL: String, reason: String)] = []
        for (i, url) in directories.enumerated() {
            var r = request
            r.directoryURL = url
            if url != replacesAt { r.replaces = nil }
            if let binding = bindings[url] {
                r.externalAccountBinding = binding
                r.eabOnlyWhereRequired = false
            } else {
                r.eabOnlyWhereRequired = directories.count > 1
            }
            do {
                var result = try issue(r)
                result.directoryURL = url
                result.passedOver = passed
                return result
            } catch {
                guard i < directories.count - 1, Self.isFallbackWorthy(error) else {
                    if passed.isEmpty { throw error }
                    throw ACMEError.everyCAFailed((passed + [(url, "\(error)")]).map { "\($0.directoryURL): \($0.reason)" },
                                                  last: (error as? CertsFailure)?.kind ?? .remote)
                }
                log("\(url) failed (\(error)); trying the next CA, \(directories[i + 1])")
                passed.append((url, "\(error)"))
            }
        }
        fatalError("unreachable")
    }

    /// Answers each challenge and polls its authorization (on the CA's Retry-After) on threads of
    /// their own, at most `width` at once: the names of one order validate in parallel instead of
    /// one after another. Every thread runs to its end; the first failure in order is thrown.
    static func validateConcurrently(_ ready: [(ACMEAuthorization, ACMEChallenge)], client: ACMEClient, width: Int = 8,
                                     log: @escaping (String) -> Void) throws {
        let outcomes = Slots<Result<Void, Error>>(count: ready.count)
        // The client is shared: its nonce pool is locked, its other state is only read here, and
        // each HTTP exchange has its own connection.
        nonisolated(unsafe) let client = client, ready = ready, log = log
        runConcurrently(count: ready.count, width: width) { i in
            let (authz, challenge) = ready[i]
            outcomes.set(i, Result {
                try client.respond(to: challenge)
                _ = try client.waitUntilValid(authorization: authz.url)
                log("\(authz.identifier): valid")
            })
        }
        for outcome in outcomes.values { try outcome.get() }
    }

    /// Outages, rate limits and policy refusals: failures another CA may not share.
    public static func isFallbackWorthy(_ error: Error) -> Bool {
        switch error {
        case let e as HTTPError:
            switch e {
            case .connect, .tls, .timeout, .protocolError, .tooLarge: return true
            default: return false
            }
        case let p as ACMEProblem:
            if let status = p.status, status >= 500 || status == 429 { return true }
            return ["rateLimited", "serverInternal", "rejectedIdentifier", "caa", "unsupportedIdentifier", "unauthorized",
                    "externalAccountRequired", "badRevocationReason", "userActionRequired", "unsupportedContact"].contains(p.shortType)
        case let e as DNSError:
            if case .caaForbids = e { return true }
            return false
        case let e as ACMEError:
            switch e {
            case .httpStatus(_, let status, _): return status >= 500 || status == 429 || status == 403
            case .timedOut, .protocolViolation, .externalAccountRequired, .termsNotAgreed, .termsChanged, .noSupportedChallenge, .orderInvalid: return true
            default: return false
            }
        default:
            return false
        }
    }

    /// The index of the chain whose top issuer (or any CA certificate's subject) has the
    /// preferred common name; 0 (the server's default) otherwise.
    public static func choose(_ chains: [[Certificate]], preferred: String?) -> Int {
        guard let preferred, !preferred.isEmpty else { return 0 }
        if let i = chains.firstIndex(where: { $0.last?.issuer.commonName == preferred }) { return i }
        if let i = chains.firstIndex(where: { $0.dropFirst().contains { $0.subject.commonName == preferred } }) { return i }
        return 0
    }

    /// RFC 9773 §5: `alreadyReplaced`, or a bare 409 Conflict, on an order that named `replaces`.
    static func isAlreadyReplaced(_ failure: Error) -> Bool {
        if let p = failure as? ACMEProblem { return p.shortType == "alreadyReplaced" || p.status == 409 }
        if case ACMEError.httpStatus(_, 409, _)? = failure as? ACMEError { return true }
        return false
    }

    static func isSafeToken(_ token: String) -> Bool {
        !token.isEmpty && token.utf8.count <= 256 && token.utf8.allSatisfy { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95 }
    }

    func runHook(_ command: String, action: String, name: String, value: String) throws {
        log("dns hook: \(action) \(name)")
        let r = try Subprocess.shell(command, environment: ["CERTS_DNS_ACTION": action, "CERTS_DNS_NAME": name, "CERTS_DNS_VALUE": value], timeout: 120)
        guard r.succeeded else { throw ACMEError.hookFailed(action: action, name: name, detail: r.failureDetail) }
    }

    /// Revokes the live certificate `name` with the account of its renewal config's CA.
    public func revoke(name: String, directoryURL: String, reason: Int?) throws -> Certificate {
        let path = store.paths(name).certificate
        guard FileSystem.exists(path) else { throw StoreError.notFound(name: name, store: store.root) }
        let cert = try Certificate.parseAll(try FileSystem.read(path), source: path)[0]
        let client = try self.client(directoryURL: directoryURL, email: nil, agreeToTerms: false, eab: nil, create: false)
        try client.revoke(certificateDER: try cert.der(), reason: reason)
        return cert
    }
}
