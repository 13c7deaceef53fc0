/// Mozilla's Public Suffix List (https://publicsuffix.org), read from the copy Debian's
/// `publicsuffix` package installs: its ICANN and its PRIVATE sections, with wildcard (`*.ck`)
/// and exception (`!www.ck`) rules. Used to refuse a wildcard certificate directly over a suffix
/// anyone can register under (`*.co.uk`; BR 3.2.2.6), and to flag one over a suffix a company
/// runs for its customers (`*.s3.amazonaws.com`): browsers (Chromium's
/// EXCLUDE_PRIVATE_REGISTRIES) judge only the ICANN section, so the PRIVATE one is kept apart.
///
/// Rules written in Unicode (`公司.cn`) are converted to A-labels (`xn--55qx5d.cn`), the form
/// certificates carry. Parsed once, and only when a leaf has a wildcard name.
public struct PublicSuffixList: Sendable {
    /// Where Debian's package puts the list.
    public static let defaultPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// Each rule, mapped to whether it is in the PRIVATE section.
    private var exact: [String: Bool] = [:]
    /// `*.ck` is stored as "ck".
    private var wildcards: [String: Bool] = [:]
    /// `!www.ck` is stored as "www.ck".
    private var exceptions: [String: Bool] = [:]
    public private(set) var ruleCount = 0

    /// The list at `defaultPath`, read on first use; nil when the file is missing or unreadable.
    public static let system: PublicSuffixList? = load(path: defaultPath)

    public static func load(path: String) -> PublicSuffixList? {
        guard let bytes = try? FileSystem.read(path, limit: 16 << 20) else { return nil }
        let list = PublicSuffixList(text: String(decoding: bytes, as: UTF8.self))
        return list.ruleCount > 0 ? list : nil
    }

    public init(text: String) {
        var inPrivate = false
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            if line.contains("===BEGIN PRIVATE DOMAINS===") { inPrivate = true }
            if line.contains("===END PRIVATE DOMAINS===") { inPrivate = false }
            // A rule is the first whitespace-free run of a line; "//" starts a comment.
            guard let rule = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, !rule.hasPrefix("//") else { continue }
            var r = String(rule).lowercased()
            var set = 0
            if r.hasPrefix("!") { r.removeFirst(); set = 2 } else if r.hasPrefix("*.") { r.removeFirst(2); set = 1 }
            guard let ascii = Punycode.toASCII(r), !ascii.isEmpty else { continue }
            switch set {
            case 1: wildcards[ascii] = inPrivate
            case 2: exceptions[ascii] = inPrivate
            default: exact[ascii] = inPrivate
            }
            ruleCount += 1
        }
    }

    /// The public suffix of `domain` (lower-case A-labels, no trailing dot) by the PSL algorithm:
    /// an exception rule wins, else the longest matching rule, else the implicit rule `*`.
    /// Without `includingPrivate`, only the ICANN section's rules count (as browsers judge).
    public func publicSuffix(of domain: String, includingPrivate: Bool = true) -> String {
        func has(_ rules: [String: Bool], _ key: String) -> Bool {
            guard let isPrivate = rules[key] else { return false }
            return includingPrivate || !isPrivate
        }
        let labels = domain.lowercased().split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !labels.isEmpty else { return domain }
        var best = 1  // the implicit "*" rule: the last label
        for count in 1...labels.count {
            let suffix = labels.suffix(count).joined(separator: ".")
            if has(exceptions, suffix) { return labels.suffix(count - 1).joined(separator: ".") }
            if has(exact, suffix) { best = max(best, count) }
            if count > 1, has(wildcards, labels.suffix(count - 1).joined(separator: ".")) { best = max(best, count) }
        }
        return labels.suffix(best).joined(separator: ".")
    }

    /// True when `domain` itself is a public suffix (nothing below it is one registrant's).
    public func isPublicSuffix(_ domain: String, includingPrivate: Bool = true) -> Bool {
        publicSuffix(of: domain, includingPrivate: includingPrivate) == domain.lowercased()
    }
}

/// IDNA's ToASCII for the PSL's Unicode rules: each non-ASCII label becomes `xn--` + RFC 3492
/// Punycode. (No Nameprep mapping: the list is already in lower-case NFC.)
enum Punycode {
    static func toASCII(_ domain: String) -> String? {
        var out: [String] = []
        for label in domain.lowercased().split(separator: ".", omittingEmptySubsequences: false) {
            if label.unicodeScalars.allSatisfy(\.isASCII) { out.append(String(label)); continue }
            guard let encoded = encode(Array(label.unicodeScalars.map(\.value))) else { return nil }
            out.append("xn--" + encoded)
        }
        return out.joined(separator: ".")
    }

    /// RFC 3492 section 6.3, with its parameters (base 36, tmin 1, tmax 26, skew 38, damp 700).
    static func encode(_ input: [UInt32]) -> String? {
        let base: UInt32 = 36, tMin: UInt32 = 1, tMax: UInt32 = 26, skew: UInt32 = 38, damp: UInt32 = 700
        func digit(_ d: UInt32) -> Character {
            Character(Unicode.Scalar(d < 26 ? d + 97 : d - 26 + 48)!)
        }
        func adapt(_ delta: UInt32, _ count: UInt32, _ first: Bool) -> UInt32 {
            var delta = first ? delta / damp : delta / 2
            delta += delta / count
            var k: UInt32 = 0
            while delta > ((base - tMin) * tMax) / 2 { delta /= base - tMin; k += base }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }
        var output = String(input.filter { $0 < 0x80 }.compactMap { Unicode.Scalar($0).map(Character.init) })
        let basicCount = UInt32(output.count)
        var handled = basicCount
        if basicCount > 0 { output.append("-") }
        var n: UInt32 = 0x80, delta: UInt32 = 0, bias: UInt32 = 72
        while handled < UInt32(input.count) {
            guard let m = input.filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow, delta <= UInt32.max - product else { return nil }
            delta += product
            n = m
            for c in input {
                if c < n { delta += 1; guard delta != 0 else { return nil } }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
