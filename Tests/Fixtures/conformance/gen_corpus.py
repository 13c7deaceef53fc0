#!/usr/bin/env python3
"""Writes the conformance corpus of server-chain cases for `certs verify` and its oracles.

    Tests/Fixtures/conformance/gen_corpus.py OUTDIR

Every rule of issue 13 (RFC 5280 path validation, the CA/Browser Forum Baseline Requirements,
path building) has a valid and an invalid twin: two chains that differ only in the one thing the
rule is about, so a verifier that ignores the rule gets exactly one of them wrong. Each case is a
directory OUTDIR/NAME holding

    leaf.pem    the leaf first, then the chain as a server would send it (possibly none)
    roots.pem   the trust anchors
    case.json   {name, rule, source, expected: "valid"|"invalid", expect_error?, expect_warning?,
                 forbid_warning?, host, at, policy?, note?}

`expect_error` is the `certs verify` error code an invalid twin must be rejected with (so it fails
for its rule, not by accident); `expect_warning` is a warning code the verdict must carry (the rule is a warning, not an error, for
a private anchor); `forbid_warning` is the code the valid twin of such a rule must not carry.
`at` is the Unix time to verify at; `policy`, when present, is the `certs verify --policy` the
case is judged under (default: webpki, the CA/B Forum rules on top of RFC 5280). OUTDIR/index.json lists the case names in order.

The structure is deterministic: EC, Ed25519 and DSA keys are derived from fixed numbers, the
RSA-2049 key from fixed primes, serial numbers and times are fixed. Only RSA-2048 keys (random,
made by OpenSSL) and ECDSA signatures (random nonces) differ between runs. Needs python3 with
pyca/cryptography >= 43; no network, no openssl CLI; runs in well under a second per ten cases.
"""
import base64
import datetime
import hashlib
import ipaddress
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# The verification time of every case: 2026-06-01T00:00:00Z.
AT = 1780272000
DAY = 86400
HOST = "www.example.com"

# DSA-2048/256 domain parameters (generated once with cryptography; any valid set would do).
DSA_P = int(
    "8e0530f0b937db6882c73a45c444e15e4adf51e3bb8bb983ef5c259e1f5e5548186fb031f3d66dd285905c11613e5628"
    "2d83a65053f3cb3bbede01bf1eb2bb64c5afe25a3cb9099e932d6e66b3e43b8811834a631beee1de50edacd05de17d33"
    "50276b98ede3f969e7d52c4a5ca5eba7bf0dcdd8a1847a3438fe2a7e128d83966e9007262ecd23f93e6505911d2895dc"
    "0f0cf5bb9f134378410b212c8602d4460d1d42fa2e6bc8b55ed0ffb786e610669ab1bc34b63affe7f15f609b65150db5"
    "2278aa1000893fab174d8082e43607ed5e3c4f9b73cbc2bca4f57bd182a0f171307b563f638825f91f11d973472b6c00"
    "93cb17e65c28dff05240bf4c7f5392c3", 16)
DSA_Q = int("c6aa1edcf9be36b4d2c25142d170fa85e83f23fb82d29169f93a5349f2c7e3d3", 16)
DSA_G = int(
    "10e6f6b562dc67798a50729fb25ebfbaf9b1d437862e9eb1f97ca5be98b13392d825e97f3c50e1813c6384f22c7474e1"
    "4d93d801c75c3309cffc9a87c4d03005fe5dd15c81c2d6203cb4e7542480b8f4c11875c3c8072000ae438c3c56750bc6"
    "a8c1df2750d9f1c783f8e6f98b8b10a7b4d0bab6a96912d3c0557effef2935af0ce6b218b0789dd94bf691a9eb67d07c"
    "01e417952a60780b03586414b32014ba74487e6b00300d9cc818e8c409bb828848c6d7a6b115e02a18954efcbc3a6447"
    "2fc6b86954fba44926aedf23397fe5d3b593ffb9362b1dd64bf932327037789cb5c9198ca618504d1bd15e436e6a0c15"
    "a7e76ab43bd4a52aab2e075cd7978ab7", 16)
# Two primes whose product has 2049 bits (OpenSSL rounds requested RSA sizes to a multiple of 8).
RSA2049_P = int("111114dff3b4fe41c690b390d7cce2bf462c7da04eeb62a0444a98f2e211683ca45ef2778f77ed18130906261e037822"
    "349821b365e5bdabc9db4f6b187166a5f66699bc344e52e72bcf35e420efd658437f4c68e1a859edda48fee424d2ce4b"
    "b7c893ec01e93277e649dacfb8ab17a262bcf98be8c1b8d5ad6552fe619e10fd3", 16)
RSA2049_Q = int("1150f5830c571c08ec0aea294a0a8811f75a59c0398847da4b8051d060d321a53b8394852508f21ed748324f40e6e168"
    "d0f622de3f94f32e55e719b09fd7613b2448313661afa8645de10c4b4be85e67a85bc4772a9fd0a9bc6bb42744c4843c"
    "0356547c88d883315911cf52c36194bf620db4d1f0101822586d293436fe43293", 16)

SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
OID_AIA = ObjectIdentifier("1.3.6.1.5.5.7.1.1")
OID_NAME_CONSTRAINTS = ObjectIdentifier("2.5.29.30")


# ---------------------------------------------------------------------------------------------
# Keys

_keys = {}


def ec_key(label):
    """A P-256 key derived from the label: the same label gives the same key in every run."""
    if label not in _keys:
        scalar = int.from_bytes(hashlib.sha256(b"certs-conformance/" + label.encode()).digest(), "big")
        _keys[label] = ec.derive_private_key(scalar % (2**255) + 1, ec.SECP256R1())
    return _keys[label]


def ed25519_key(label):
    return ed25519.Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"ed25519/" + label.encode()).digest())


def dsa_key(label):
    x = int.from_bytes(hashlib.sha256(b"dsa/" + label.encode()).digest(), "big") % (DSA_Q - 2) + 1
    params = dsa.DSAParameterNumbers(DSA_P, DSA_Q, DSA_G)
    return dsa.DSAPrivateNumbers(x, dsa.DSAPublicNumbers(pow(DSA_G, x, DSA_P), params)).private_key()


def rsa_2049_key():
    p, q, e = RSA2049_P, RSA2049_Q, 65537
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p), rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


def rsa_2048_key():
    if "rsa2048" not in _keys:
        _keys["rsa2048"] = rsa.generate_private_key(65537, 2048)
    return _keys["rsa2048"]


# ---------------------------------------------------------------------------------------------
# Certificates


def name(cn=None, org="certs conformance"):
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    if cn is not None:
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def ts(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc)


_issued = [0]


def serial_for(label):
    """A positive 16-octet serial derived from the label and the issue count (BR 7.1: at least 64
    random-looking bits; unique per issuer, as certificates with the same label differ)."""
    _issued[0] += 1
    seed = f"serial/{label}/{_issued[0]}".encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:16], "big") >> 1 | 1


class Cert:
    """A certificate as DER, with the key of its subject (to issue more) and its name."""

    def __init__(self, der, key, subject, label):
        self.der, self.key, self.subject, self.label = der, key, subject, label

    @property
    def pem(self):
        body = base64.encodebytes(self.der).decode().replace("\n", "")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def sign_hash(key):
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def make(label, key, issuer=None, *, role="leaf", subject=None, cn=None, not_before=None, not_after=None,
         serial=None, bc="default", ca=None, pathlen=None, bc_critical=True, ku="default", ku_critical=True,
         eku="default", eku_critical=False, san="default", san_critical=False, ski=True, aki="default",
         name_constraints=None, extra=(), issuer_key=None):
    """Issues one certificate. `issuer` is the issuing Cert (None: self-signed with `key`).

    Defaults follow the BR profiles: a root (self-signed, critical CA basicConstraints, critical
    keyCertSign+cRLSign, SKI, no EKU, no AKI), an intermediate (the same with AKI and serverAuth
    EKU), a leaf (critical CA:FALSE, critical digitalSignature, serverAuth, SAN www.example.com,
    AKI, SKI). Keyword arguments override one field at a time; None removes the extension.
    """
    if subject is None:
        subject = name(cn if cn is not None else (HOST if role == "leaf" else label))
    is_ca = role != "leaf"
    issuer_name = issuer.subject if issuer else subject
    signer = issuer_key or (issuer.key if issuer else key)
    b = x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
    serial = serial if serial is not None else serial_for(label)
    b = b.serial_number(serial)
    b = b.not_valid_before(ts(not_before if not_before is not None else AT - 30 * DAY))
    b = b.not_valid_after(ts(not_after if not_after is not None else (AT + 60 * DAY if role == "leaf" else AT + 3650 * DAY)))
    if bc == "default":
        b = b.add_extension(x509.BasicConstraints(ca=is_ca if ca is None else ca, path_length=pathlen), critical=bc_critical)
    if ku == "default":
        ku = ["key_cert_sign", "crl_sign"] if is_ca else ["digital_signature"]
    if ku is not None:
        flags = {f: f in ku for f in ["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                                      "key_agreement", "key_cert_sign", "crl_sign"]}
        b = b.add_extension(x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=ku_critical)
    if eku == "default":
        eku = None if role == "root" else [SERVER_AUTH]
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=eku_critical)
    if san == "default":
        san = [HOST] if role == "leaf" else None
    if san is not None:
        names = []
        for n in san:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                names.append(x509.DNSName(n))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=san_critical)
    if ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    if aki == "default":
        aki = None if issuer is None else "keyid"
    if aki == "keyid":
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    elif aki == "issuer-serial":
        # issuer name and serial of the issuer's certificate: for a self-signed root, its own.
        issuer_serial = serial if issuer is None else x509.load_der_x509_certificate(issuer.der).serial_number
        b = b.add_extension(x509.AuthorityKeyIdentifier(None, [x509.DirectoryName(issuer_name)], issuer_serial), critical=False)
    if name_constraints is not None:
        ext, critical = name_constraints
        b = b.add_extension(ext, critical=critical)
    for ext, critical in extra:
        b = b.add_extension(ext, critical=critical)
    cert = b.sign(signer, sign_hash(signer))
    return Cert(cert.public_bytes(serialization.Encoding.DER), key, subject, label)


# ---- Raw DER, for what cryptography refuses to build (serials that are zero, negative, 21 octets)


def der_header(data, off):
    tag = data[off]
    length = data[off + 1]
    off += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[off:off + count], "big")
        off += count
    return tag, off, off + length


def der_children(tlv):
    _, start, end = der_header(tlv, 0)
    out, off = [], start
    while off < end:
        _, body, stop = der_header(tlv, off)
        out.append(tlv[off:stop])
        off = stop
    return out


def der_wrap(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def with_serial_octets(cert, issuer, octets):
    """The certificate with its serial INTEGER content replaced by `octets`, re-signed by `issuer`."""
    outer = der_children(cert.der)
    tbs = der_children(outer[0])
    tbs[1] = der_wrap(0x02, octets)
    new_tbs = der_wrap(0x30, b"".join(tbs))
    signature = issuer.key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    der = der_wrap(0x30, new_tbs + outer[1] + der_wrap(0x03, b"\x00" + signature))
    return Cert(der, cert.key, cert.subject, cert.label)


# ---------------------------------------------------------------------------------------------
# The corpus


class Corpus:
    def __init__(self, out):
        self.out = out
        self.names = []
        self.metas = {}

    def case(self, name, rule, source, expected, served, roots, host=HOST, at=AT, expect_warning=None,
             forbid_warning=None, note=None, policy=None):
        assert name not in self.names, name
        assert expected in ("valid", "invalid")
        d = os.path.join(self.out, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "leaf.pem"), "w") as f:
            f.write("".join(c.pem for c in served))
        with open(os.path.join(d, "roots.pem"), "w") as f:
            f.write("".join(c.pem for c in roots))
        meta = {"name": name, "rule": rule, "source": source, "expected": expected, "host": host, "at": at}
        if expect_warning:
            meta["expect_warning"] = expect_warning
        if forbid_warning:
            meta["forbid_warning"] = forbid_warning
        if note:
            meta["note"] = note
        if policy:
            meta["policy"] = policy
        self.metas[name] = meta
        self.names.append(name)

    def finish(self, error_codes):
        """Writes every case.json (with its expect_error from `error_codes`) and index.json."""
        assert set(error_codes) <= set(self.names), set(error_codes) - set(self.names)
        for name in self.names:
            meta = self.metas[name]
            if name in error_codes:
                assert meta["expected"] == "invalid", name
                meta["expect_error"] = error_codes[name]
            with open(os.path.join(self.out, name, "case.json"), "w", encoding="utf-8") as f:
                json.dump(meta, f, indent=1, sort_keys=True, ensure_ascii=False)
                f.write("\n")
        with open(os.path.join(self.out, "index.json"), "w") as f:
            json.dump(self.names, f, indent=1)
            f.write("\n")

    def twins(self, rule, source, valid, invalid, **common):
        """A valid and an invalid twin: each is (name, served, roots, overrides)."""
        for expected, (case_name, served, roots, overrides) in (("valid", valid), ("invalid", invalid)):
            args = dict(common)
            args.update(overrides)
            exp = args.pop("expected", expected)
            self.case(case_name, rule, source, exp, served, roots, **args)


def build(out):
    c = Corpus(out)
    kR, kI, kL = ec_key("root"), ec_key("intermediate"), ec_key("leaf")
    R = make("Conformance Root R1", kR, role="root")
    I = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0)
    L = make("leaf", kL, I)

    # ---- Baseline and the plain path failures ------------------------------------------------
    c.twins("baseline: a BR-conforming root, intermediate, leaf", "RFC 5280 §6.1; BR 7.1.2",
            ("baseline-valid", [L, I], [R], {}),
            ("baseline-missing-intermediate", [L], [R], {}))
    c.twins("host name must be in the SANs", "RFC 6125 §6; BR 7.1.2.7.12",
            ("host-in-san-valid", [L, I], [R], {}),
            ("host-not-in-san-invalid", [L, I], [R], {"host": "other.example.com"}))
    expired = make("leaf-expired", kL, I, not_before=AT - 90 * DAY, not_after=AT - DAY)
    c.twins("leaf validity period", "RFC 5280 §4.1.2.5",
            ("expiry-valid", [L, I], [R], {}),
            ("expiry-expired-leaf-invalid", [expired, I], [R], {}))

    # ---- Validity bounds are inclusive -------------------------------------------------------
    exact = make("leaf-notafter-exact", kL, I, not_before=AT - 30 * DAY, not_after=AT)
    c.twins("notAfter is inclusive: valid at its exact second, expired one second later", "RFC 5280 §4.1.2.5",
            ("notafter-exact-second-valid", [exact, I], [R], {}),
            ("notafter-one-second-after-invalid", [exact, I], [R], {"at": AT + 1}))
    future = make("leaf-future", kL, I, not_before=AT + 3600, not_after=AT + 60 * DAY)
    exact_nb = make("leaf-notbefore-exact", kL, I, not_before=AT, not_after=AT + 60 * DAY)
    c.twins("notBefore is inclusive; a leaf not yet valid is invalid", "RFC 5280 §4.1.2.5",
            ("notbefore-exact-second-valid", [exact_nb, I], [R], {}),
            ("notbefore-in-future-invalid", [future, I], [R], {}))

    # ---- Chain order and path building -------------------------------------------------------
    kI2 = ec_key("intermediate-2")
    Ia = make("Conformance Intermediate A", kI, R, role="ca", pathlen=1)
    Ia2 = make("Conformance Intermediate A2", kI2, Ia, role="ca", pathlen=0)
    La2 = make("leaf-a2", kL, Ia2)
    c.twins("chain order is a warning, never invalid (RFC 8446 §4.4.2: clients SHOULD tolerate any order)",
            "RFC 8446 §4.4.2; RFC 5246 §7.4.2",
            ("order-in-order-valid", [La2, Ia2, Ia], [R], {"forbid_warning": "chain-order"}),
            ("order-reversed-warning", [La2, Ia, Ia2], [R], {"expected": "valid", "expect_warning": "chain-order"}))
    c.case("order-gap-missing-intermediate-invalid", "a chain with a missing link is invalid in any order",
           "RFC 5280 §6.1", "invalid", [La2, Ia], [R])

    # Cross-signed intermediate: the same subject and key as I, issued by an older root R0.
    kR0 = ec_key("root-old")
    R0 = make("Conformance Old Root R0", kR0, role="root")
    I_cross_expired = make("Conformance Intermediate I1", kI, R0, role="ca", pathlen=0,
                           not_before=AT - 800 * DAY, not_after=AT - 10 * DAY)
    c.twins("path building: an expired cross-signed intermediate next to a good one",
            "RFC 5280 §6.1; RFC 4158 §2-3 (all candidate paths)",
            ("cross-expired-next-to-good-valid", [L, I_cross_expired, I], [R0, R], {}),
            ("cross-expired-only-invalid", [L, I_cross_expired], [R0], {}))
    kR2 = ec_key("root-constrained")
    R2 = make("Conformance Other Root R2", kR2, role="root")
    nc_other = x509.NameConstraints(permitted_subtrees=[x509.DNSName("other.example")], excluded_subtrees=None)
    I_cross_nc = make("Conformance Intermediate I1", kI, R2, role="ca", pathlen=0, name_constraints=(nc_other, True))
    c.twins("path building: a name-constrained cross-sign next to a good one",
            "RFC 5280 §6.1; §4.2.1.10; RFC 4158",
            ("cross-constrained-next-to-good-valid", [L, I_cross_nc, I], [R2, R], {}),
            ("cross-constrained-only-invalid", [L, I_cross_nc], [R2], {}))
    kI3 = ec_key("intermediate-3")
    I_sibling = make("Conformance Intermediate Sibling", kI3, R, role="ca", pathlen=0)
    c.twins("path building: the trust anchor supplied next to an intermediate it issued (both in the trust file)",
            "RFC 5280 §6.1 (any trust anchor may start the path)",
            ("anchor-next-to-its-intermediate-valid", [L], [R, I], {}),
            ("anchor-next-to-other-intermediate-invalid", [L], [R, I_sibling], {}))
    imposter = make("Conformance Intermediate I1", kI3, R, role="ca", pathlen=0)
    c.twins("a trusted intermediate is a trust anchor (no root needed)",
            "RFC 5280 §6.1.1 (d) (trust anchor information); RFC 5914",
            ("intermediate-as-anchor-valid", [L], [I], {}),
            ("intermediate-as-anchor-wrong-key-invalid", [L], [imposter], {
                "note": "the anchor has the issuer's name but another key: the leaf's signature does not verify"}))

    # ---- pathLenConstraint -------------------------------------------------------------------
    kS = ec_key("self-issued")
    P0 = make("Conformance Pathlen Zero", kI, R, role="ca", pathlen=0)
    # Self-issued (same name as P0, new key, signed by P0's key): a key rollover certificate.
    P0_rollover = make("Conformance Pathlen Zero", kS, P0, role="ca", pathlen=0)
    L_rollover = make("leaf-rollover", kL, P0_rollover)
    Q = make("Conformance Below Pathlen Zero", kS, P0, role="ca", pathlen=0)
    L_q = make("leaf-q", kL, Q)
    c.twins("pathLenConstraint does not count self-issued intermediates", "RFC 5280 §4.2.1.9; §6.1.4 (l)",
            ("pathlen-self-issued-not-counted-valid", [L_rollover, P0_rollover, P0], [R], {}),
            ("pathlen-zero-exceeded-invalid", [L_q, Q, P0], [R], {}))
    c.twins("pathLenConstraint does not count the leaf (pathlen 0 may issue leaves)", "RFC 5280 §4.2.1.9",
            ("pathlen-zero-issues-leaf-valid", [L, I], [R], {}),
            ("pathlen-zero-issues-ca-and-leaf-invalid", [L_q, Q, P0], [R], {
                "note": "same shape as pathlen-zero-exceeded-invalid, seen from the leaf"}))
    kT = ec_key("pathlen-3")
    P1 = make("Conformance Pathlen One", kI, R, role="ca", pathlen=1)
    P5 = make("Conformance Pathlen Five", kS, P1, role="ca", pathlen=5)
    P5b = make("Conformance Below Pathlen Five", kT, P5, role="ca", pathlen=None)
    L_p5 = make("leaf-p5", kL, P5)
    L_p5b = make("leaf-p5b", kL, P5b)
    c.twins("an intermediate's pathlen larger than its issuer's is fine while the real path is short enough",
            "RFC 5280 §6.1.4 (m)",
            ("pathlen-larger-than-issuer-short-path-valid", [L_p5, P5, P1], [R], {}),
            ("pathlen-larger-than-issuer-long-path-invalid", [L_p5b, P5b, P5, P1], [R], {}))

    # ---- Lifetimes by issuance date (SC-081v3) ------------------------------------------------
    jan = 1768003200  # 2026-01-10, before 2026-03-15: 398 days allowed
    apr = 1775001600  # 2026-04-01, from 2026-03-15: 200 days
    l398 = make("leaf-398", kL, I, not_before=jan, not_after=jan + 398 * DAY - 1)
    l399 = make("leaf-399", kL, I, not_before=jan, not_after=jan + 399 * DAY)
    c.twins("lifetime at most 398 days for leaves issued before 2026-03-15 (warning under a private anchor)",
            "BR 6.3.2; CA/B ballot SC-081v3",
            ("lifetime-398-days-valid", [l398, I], [R], {"forbid_warning": "validity-too-long"}),
            ("lifetime-399-days-warning", [l399, I], [R], {"expected": "valid", "expect_warning": "validity-too-long"}))
    l200 = make("leaf-200", kL, I, not_before=apr, not_after=apr + 200 * DAY - 1)
    l250 = make("leaf-250", kL, I, not_before=apr, not_after=apr + 250 * DAY)
    c.twins("lifetime at most 200 days for leaves issued from 2026-03-15 (warning under a private anchor)",
            "BR 6.3.2; CA/B ballot SC-081v3",
            ("lifetime-200-days-valid", [l200, I], [R], {"forbid_warning": "validity-too-long"}),
            ("lifetime-250-days-from-2026-03-15-warning", [l250, I], [R], {"expected": "valid", "expect_warning": "validity-too-long"}))

    cutoff = 1773532800  # 2026-03-15T00:00:00Z: from this notBefore on, 200 days
    before = make("leaf-before-cutoff", kL, I, not_before=cutoff - 1, not_after=cutoff - 1 + 398 * DAY - 1)
    at_cutoff = make("leaf-at-cutoff", kL, I, not_before=cutoff, not_after=cutoff + 201 * DAY)
    c.twins("the 200-day limit applies from a notBefore of 2026-03-15T00:00:00Z exactly",
            "BR 6.3.2; CA/B ballot SC-081v3",
            ("lifetime-398-days-one-second-before-cutoff-valid", [before, I], [R], {"forbid_warning": "validity-too-long"}),
            ("lifetime-201-days-at-cutoff-warning", [at_cutoff, I], [R], {"expected": "valid", "expect_warning": "validity-too-long"}))
    for start, days, label in ((1806537600, 100, "2027-03-15"), (1869696000, 47, "2029-03-15")):
        ok = make(f"leaf-{days}", kL, I, not_before=start, not_after=start + days * DAY - 1)
        long = make(f"leaf-{days + 1}", kL, I, not_before=start, not_after=start + (days + 1) * DAY)
        c.twins(f"lifetime at most {days} days for leaves issued from {label} (warning under a private anchor)",
                "BR 6.3.2; CA/B ballot SC-081v3",
                (f"lifetime-{days}-days-valid", [ok, I], [R], {"at": start + 10 * DAY, "forbid_warning": "validity-too-long"}),
                (f"lifetime-{days + 1}-days-from-{label}-warning", [long, I], [R], {
                    "at": start + 10 * DAY, "expected": "valid", "expect_warning": "validity-too-long"}))

    # ---- Keys ---------------------------------------------------------------------------------
    L_ed = make("leaf-ed25519", ed25519_key("leaf"), I)
    c.twins("Ed25519 leaves are a warning: browsers do not accept them", "BR 6.1.5, 7.1.3.1 (RSA and ECDSA only)",
            ("key-p256-leaf-valid", [L, I], [R], {"forbid_warning": "eddsa-leaf"}),
            ("key-ed25519-leaf-warning", [L_ed, I], [R], {"expected": "valid", "expect_warning": "eddsa-leaf"}))
    L_rsa = make("leaf-rsa2048", rsa_2048_key(), I, ku=["digital_signature", "key_encipherment"])
    L_dsa = make("leaf-dsa", dsa_key("leaf"), I)
    c.twins("DSA keys are not allowed", "BR 6.1.5; 7.1.3.1",
            ("key-rsa2048-leaf-valid", [L_rsa, I], [R], {}),
            ("key-dsa-leaf-invalid", [L_dsa, I], [R], {}))
    L_2049 = make("leaf-rsa2049", rsa_2049_key(), I, ku=["digital_signature", "key_encipherment"])
    c.twins("RSA modulus size in bits must be divisible by 8", "BR 6.1.5",
            ("key-rsa-modulus-2048-valid", [L_rsa, I], [R], {}),
            ("key-rsa-modulus-2049-invalid", [L_2049, I], [R], {}))

    # ---- Serial numbers -----------------------------------------------------------------------
    base = make("leaf-serial", kL, I)
    s20 = with_serial_octets(base, I, bytes([0x7F]) + bytes(range(1, 20)))  # 20 octets, positive
    c.twins("serial number of at most 20 octets", "RFC 5280 §4.1.2.2; BR 7.1",
            ("serial-20-octets-valid", [s20, I], [R], {}),
            ("serial-21-octets-invalid", [with_serial_octets(base, I, b"\x00\x80" + bytes(range(1, 20))), I], [R], {}))
    c.twins("serial number greater than zero", "RFC 5280 §4.1.2.2; BR 7.1",
            ("serial-positive-valid", [with_serial_octets(base, I, bytes([0x01]) + bytes(range(2, 10))), I], [R], {}),
            ("serial-zero-invalid", [with_serial_octets(base, I, b"\x00"), I], [R], {}))
    c.twins("serial number not negative", "RFC 5280 §4.1.2.2; BR 7.1",
            ("serial-high-bit-positive-valid", [with_serial_octets(base, I, b"\x00\xC0" + bytes(range(1, 10))), I], [R], {}),
            ("serial-negative-invalid", [with_serial_octets(base, I, b"\xC0" + bytes(range(1, 10))), I], [R], {}))

    # ---- Subject CN must be one of the SANs, in canonical form --------------------------------
    src_cn = "BR 7.1.4.3 (subject:commonName); RFC 5952 §4; RFC 791"
    ip4, ip6 = "192.0.2.1", "2001:db8::1"
    c.twins("CN equals a SAN byte for byte (IPv4 without leading zeros)", src_cn,
            ("cn-ipv4-canonical-valid", [make("cn-ip4", kL, I, cn=ip4, san=[ip4]), I], [R], {"host": ip4}),
            ("cn-ipv4-leading-zero-invalid", [make("cn-ip4-0", kL, I, cn="192.0.2.01", san=[ip4]), I], [R], {"host": ip4}))
    c.case("cn-ipv4-hex-invalid", "CN equals a SAN byte for byte (IPv4 not in hex)", src_cn, "invalid",
           [make("cn-ip4-hex", kL, I, cn="0xc0.0.2.1", san=[ip4]), I], [R], host=ip4)
    c.twins("CN equals a SAN byte for byte (IPv6 in RFC 5952 form)", src_cn,
            ("cn-ipv6-rfc5952-valid", [make("cn-ip6", kL, I, cn=ip6, san=[ip6]), I], [R], {"host": ip6}),
            ("cn-ipv6-not-rfc5952-invalid", [make("cn-ip6-long", kL, I, cn="2001:0db8:0:0:0:0:0:1", san=[ip6]), I], [R], {"host": ip6}))
    c.twins("CN equals a SAN byte for byte (same case)", src_cn,
            ("cn-dns-same-case-valid", [L, I], [R], {}),
            ("cn-dns-other-case-invalid", [make("cn-case", kL, I, cn="WWW.Example.com"), I], [R], {}))
    alabel = "xn--bcher-kva.example.com"
    c.twins("CN equals a SAN byte for byte (A-label, not U-label)", src_cn,
            ("cn-alabel-valid", [make("cn-alabel", kL, I, cn=alabel, san=[alabel]), I], [R], {"host": alabel}),
            ("cn-ulabel-invalid", [make("cn-ulabel", kL, I, cn="bücher.example.com", san=[alabel]), I], [R], {"host": alabel}))
    c.case("cn-not-a-san-invalid", "CN equals one of the SANs", src_cn, "invalid",
           [make("cn-other", kL, I, cn="other.example.com"), I], [R])

    # ---- Extended key usage -------------------------------------------------------------------
    src_eku = "BR 7.1.2.7.10; 7.1.2.7.6 (extKeyUsage MUST, non-critical)"
    c.twins("leaf EKU present", src_eku,
            ("eku-serverauth-valid", [L, I], [R], {}),
            ("eku-missing-invalid", [make("eku-none", kL, I, eku=None), I], [R], {}))
    c.twins("leaf EKU without anyExtendedKeyUsage", src_eku,
            ("eku-serverauth-clientauth-valid", [make("eku-sc", kL, I, eku=[SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), I], [R], {}),
            ("eku-serverauth-and-any-invalid", [make("eku-any", kL, I, eku=[SERVER_AUTH, ANY_EKU]), I], [R], {}))
    c.case("eku-any-only-invalid", "leaf EKU without anyExtendedKeyUsage", src_eku, "invalid",
           [make("eku-any-only", kL, I, eku=[ANY_EKU]), I], [R])
    c.twins("leaf EKU not critical", src_eku,
            ("eku-noncritical-valid", [L, I], [R], {}),
            ("eku-critical-invalid", [make("eku-crit", kL, I, eku_critical=True), I], [R], {}))
    # A root's EKU is a constraint browsers apply to the whole path: one that leaves out serverAuth
    # makes every server chain under it fail. One that still allows serverAuth breaks only the BR's
    # root profile (Pebble's own root is like that, and browsers accept it): valid, with a warning.
    R_eku = make("Conformance Root R1", kR, role="root", eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    R_eku_server = make("Conformance Root R1", kR, role="root", eku=[SERVER_AUTH])
    c.twins("a root carries no EKU", "BR 7.1.2.1.2 (extKeyUsage MUST NOT)",
            ("root-without-eku-valid", [L, I], [R], {}),
            ("root-with-eku-invalid", [L, I], [R_eku], {}))
    c.case("root-with-serverauth-eku-warning", "a root carries no EKU", "BR 7.1.2.1.2 (extKeyUsage MUST NOT)",
           "valid", [L, I], [R_eku_server], expect_warning="root-has-eku",
           note="browsers accept a root whose EKU allows serverAuth; the BR root profile is broken: a warning")

    # ---- Key identifiers ----------------------------------------------------------------------
    c.twins("authorityKeyIdentifier in every certificate but a self-signed root", "RFC 5280 §4.2.1.1; BR 7.1.2.7.6",
            ("aki-present-valid", [L, I], [R], {}),
            ("aki-missing-in-leaf-invalid", [make("no-aki", kL, I, aki=None), I], [R], {}))
    I_noski = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, ski=False)
    c.twins("subjectKeyIdentifier in every CA certificate", "RFC 5280 §4.2.1.2; BR 7.1.2.2",
            ("ski-present-in-intermediate-valid", [L, I], [R], {}),
            ("ski-missing-in-intermediate-invalid", [L, I_noski], [R], {}))
    R_aki_keyid = make("Conformance Root R1", kR, role="root", aki="keyid")
    R_aki_serial = make("Conformance Root R1", kR, role="root", aki="issuer-serial")
    c.twins("a root's AKI, when present, holds a keyIdentifier (and nothing else)", "BR 7.1.2.1.3",
            ("root-aki-keyid-valid", [L, I], [R_aki_keyid], {}),
            ("root-aki-without-keyid-invalid", [L, I], [R_aki_serial], {}))

    # ---- Root basicConstraints ----------------------------------------------------------------
    R_nobc = make("Conformance Root R1", kR, role="root", bc=None)
    R_bc_nc = make("Conformance Root R1", kR, role="root", bc_critical=False)
    c.twins("a root has basicConstraints", "RFC 5280 §4.2.1.9; BR 7.1.2.1.2",
            ("root-basic-constraints-critical-valid", [L, I], [R], {}),
            ("root-without-basic-constraints-invalid", [L, I], [R_nobc], {}))
    c.case("root-basic-constraints-noncritical-invalid", "a root's basicConstraints is critical",
           "RFC 5280 §4.2.1.9; BR 7.1.2.1.2", "invalid", [L, I], [R_bc_nc])

    # ---- Key usage ------------------------------------------------------------------------------
    c.twins("keyCertSign only with cA", "RFC 5280 §4.2.1.3; BR 7.1.2.7.11",
            ("leaf-key-usage-digital-signature-valid", [L, I], [R], {}),
            ("leaf-key-cert-sign-invalid", [make("leaf-kcs", kL, I, ku=["digital_signature", "key_cert_sign"]), I], [R], {}))

    # ---- Name constraints ---------------------------------------------------------------------
    src_nc = "RFC 5280 §4.2.1.10; BR 7.1.2.5.2"
    nc_example = x509.NameConstraints(permitted_subtrees=[x509.DNSName("example.com")], excluded_subtrees=None)
    I_nc = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, name_constraints=(nc_example, True))
    I_nc_noncrit = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, name_constraints=(nc_example, False))
    # RFC 5280 requires critical name constraints; the BR (7.1.2.10.8, and the footnote to the old
    # 7.1.2.2 (g)) let CAs leave them non-critical for old clients: a warning for the Web PKI.
    c.twins("name constraints are critical (a warning for the Web PKI, whose BR allow non-critical)",
            "RFC 5280 §4.2.1.10; BR 7.1.2.10.8",
            ("nc-critical-valid", [L, I_nc], [R], {"forbid_warning": "name-constraints-not-critical"}),
            ("nc-noncritical-warning", [L, I_nc_noncrit], [R], {
                "expected": "valid", "expect_warning": "name-constraints-not-critical"}))
    c.twins("name constraints are critical (RFC 5280 policy)", "RFC 5280 §4.2.1.10",
            ("nc-critical-rfc5280-valid", [L, I_nc], [R], {"policy": "rfc5280"}),
            ("nc-noncritical-rfc5280-invalid", [L, I_nc_noncrit], [R], {"policy": "rfc5280"}))
    c.twins("name constraints only in CA certificates", src_nc,
            ("nc-absent-in-leaf-valid", [L, I], [R], {}),
            ("nc-in-leaf-invalid", [make("leaf-nc", kL, I, name_constraints=(nc_example, True)), I], [R], {}))
    empty_nc = x509.UnrecognizedExtension(OID_NAME_CONSTRAINTS, b"\x30\x00")
    I_nc_empty = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, extra=[(empty_nc, True)])
    c.twins("name constraints with at least one subtree", src_nc,
            ("nc-permitted-subtree-valid", [L, I_nc], [R], {}),
            ("nc-empty-invalid", [L, I_nc_empty], [R], {}))
    nc_dot = x509.NameConstraints(permitted_subtrees=[x509.DNSName(".example.com")], excluded_subtrees=None)
    I_nc_dot = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, name_constraints=(nc_dot, True))
    c.twins("a dNSName constraint has no leading period", src_nc,
            ("nc-dns-no-leading-period-valid", [L, I_nc], [R], {}),
            ("nc-dns-leading-period-invalid", [L, I_nc_dot], [R], {}))
    nc_excl = x509.NameConstraints(permitted_subtrees=None, excluded_subtrees=[x509.DNSName("www.example.com")])
    I_nc_excl = make("Conformance Intermediate I1", kI, R, role="ca", pathlen=0, name_constraints=(nc_excl, True))
    c.case("nc-excluded-name-invalid", "a name in an excluded subtree", src_nc, "invalid", [L, I_nc_excl], [R])

    # ---- subjectAltName -----------------------------------------------------------------------
    L_empty_subject_crit = make("san-crit-empty", kL, I, subject=x509.Name([]), san_critical=True)
    L_subject_crit = make("san-crit-subject", kL, I, san_critical=True)
    c.twins("SAN critical only when the subject is empty", "RFC 5280 §4.2.1.6; BR 7.1.2.7.12",
            ("san-critical-empty-subject-valid", [L_empty_subject_crit, I], [R], {}),
            ("san-critical-with-subject-invalid", [L_subject_crit, I], [R], {}))
    c.twins("no underscore in a DNS SAN", "BR 7.1.2.7.12 (LDH labels; ballot SC-12)",
            ("san-hyphen-valid", [make("san-hyphen", kL, I, san=[HOST, "a-b.example.com"]), I], [R], {}),
            ("san-underscore-invalid", [make("san-underscore", kL, I, san=[HOST, "a_b.example.com"]), I], [R], {}))
    c.twins("no wildcard directly over a public suffix", "BR 3.2.2.6; Public Suffix List",
            ("wildcard-under-registrable-domain-valid",
             [make("wc-ok", kL, I, cn="*.example.co.uk", san=["*.example.co.uk"]), I], [R], {"host": "www.example.co.uk"}),
            ("wildcard-over-public-suffix-co-uk-invalid",
             [make("wc-couk", kL, I, cn="*.co.uk", san=["*.co.uk"]), I], [R], {"host": "example.co.uk"}))
    # The PSL's PRIVATE section is not a registry: Amazon's own S3 endpoints serve *.s3.amazonaws.com,
    # BR 3.2.2.6 allows it to whoever controls the whole namespace, and Chromium matches it
    # (it checks wildcards against the ICANN section only, EXCLUDE_PRIVATE_REGISTRIES).
    c.case("wildcard-over-private-suffix-s3-valid", "a wildcard over a PRIVATE-section suffix is not over a registry",
           "BR 3.2.2.6 (\"unless the Applicant proves its rightful control of the entire Domain Namespace\")", "valid",
           [make("wc-s3", kL, I, cn="*.s3.amazonaws.com", san=["*.s3.amazonaws.com"]), I], [R],
           host="bucket.s3.amazonaws.com", expect_warning="wildcard-private-suffix",
           note="issue 13 lists *.s3.amazonaws.com as invalid; docs/verification.md argues why it is not")

    # ---- authorityInfoAccess --------------------------------------------------------------------
    src_aia = "RFC 5280 §4.2.2.1; BR 7.1.2.7.7"
    ca_issuers = x509.AuthorityInformationAccess([x509.AccessDescription(
        x509.oid.AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier("http://ca.example.com/i1.crt"))])
    aia_empty = x509.UnrecognizedExtension(OID_AIA, b"\x30\x00")
    # One AccessDescription holding only its method (caIssuers), no accessLocation.
    aia_no_location = x509.UnrecognizedExtension(OID_AIA, bytes.fromhex("300c300a06082b06010505073002"))
    c.twins("AIA with at least one well-formed AccessDescription", src_aia,
            ("aia-ca-issuers-valid", [make("aia-ok", kL, I, extra=[(ca_issuers, False)]), I], [R], {}),
            ("aia-empty-sequence-invalid", [make("aia-empty", kL, I, extra=[(aia_empty, False)]), I], [R], {}))
    c.case("aia-access-description-without-location-invalid", "AIA with well-formed AccessDescriptions", src_aia,
           "invalid", [make("aia-noloc", kL, I, extra=[(aia_no_location, False)]), I], [R])

    # ---- A CA certificate as the leaf; the policy differences ------------------------------------
    L_ca = make("leaf-ca", kL, I, ca=True, ku=["digital_signature", "key_cert_sign"])
    c.twins("a server certificate is not a CA (Web PKI only: RFC 5280 does not forbid it)",
            "BR 7.1.2.7.8; RFC 5280 §4.2.1.9",
            ("leaf-is-ca-rfc5280-valid", [L_ca, I], [R], {"policy": "rfc5280"}),
            ("leaf-is-ca-invalid", [L_ca, I], [R], {}))
    L_no_eku = make("eku-none-rfc5280", kL, I, eku=None)
    c.case("eku-missing-rfc5280-valid", "leaf EKU present (Web PKI only: RFC 5280 §4.2.1.12 reads no EKU as any use)",
           "RFC 5280 §4.2.1.12", "valid", [L_no_eku, I], [R], policy="rfc5280")

    c.finish(ERROR_CODES)
    return c.names


# The `certs verify` error code an invalid twin must carry, so it fails for its rule and not by
# accident (docs/json.md lists the codes). Path-building cases name none: which failing path is
# reported is the verifier's choice.
ERROR_CODES = {
    "host-not-in-san-invalid": "hostname-mismatch",
    "expiry-expired-leaf-invalid": "expired",
    "notafter-one-second-after-invalid": "expired",
    "notbefore-in-future-invalid": "not-yet-valid",
    "pathlen-zero-exceeded-invalid": "path-length",
    "pathlen-zero-issues-ca-and-leaf-invalid": "path-length",
    "pathlen-larger-than-issuer-long-path-invalid": "path-length",
    "key-dsa-leaf-invalid": "dsa-key",
    "key-rsa-modulus-2049-invalid": "rsa-modulus-size",
    "serial-21-octets-invalid": "invalid-serial",
    "serial-zero-invalid": "invalid-serial",
    "serial-negative-invalid": "invalid-serial",
    "cn-ipv4-leading-zero-invalid": "cn-not-in-san",
    "cn-ipv4-hex-invalid": "cn-not-in-san",
    "cn-ipv6-not-rfc5952-invalid": "cn-not-in-san",
    "cn-dns-other-case-invalid": "cn-not-in-san",
    "cn-ulabel-invalid": "cn-not-in-san",
    "cn-not-a-san-invalid": "cn-not-in-san",
    "eku-missing-invalid": "missing-eku",
    "eku-serverauth-and-any-invalid": "any-eku",
    "eku-critical-invalid": "critical-eku",
    "root-with-eku-invalid": "root-has-eku",
    "aki-missing-in-leaf-invalid": "missing-aki",
    "ski-missing-in-intermediate-invalid": "missing-ski",
    "root-aki-without-keyid-invalid": "aki-without-keyid",
    "root-without-basic-constraints-invalid": "root-basic-constraints",
    "root-basic-constraints-noncritical-invalid": "root-basic-constraints",
    "leaf-key-cert-sign-invalid": "leaf-key-cert-sign",
    "nc-noncritical-rfc5280-invalid": "name-constraints-not-critical",
    "nc-in-leaf-invalid": "name-constraints-in-leaf",
    "nc-empty-invalid": "name-constraints-empty",
    "nc-dns-leading-period-invalid": "name-constraints-dns-period",
    "san-critical-with-subject-invalid": "critical-san",
    "san-underscore-invalid": "dns-underscore",
    "wildcard-over-public-suffix-co-uk-invalid": "wildcard-public-suffix",
    "aia-empty-sequence-invalid": "malformed-aia",
    "aia-access-description-without-location-invalid": "malformed-aia",
    "leaf-is-ca-invalid": "leaf-is-ca",
}


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: gen_corpus.py OUTDIR", file=sys.stderr)
        return 2
    names = build(argv[1])
    print(f"{len(names)} cases in {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
