#!/usr/bin/env python3
"""The peer of `certs check DIR` in BENCHMARKS.md: one Python process with pyca/cryptography that
walks DIR, parses every PEM certificate of every file, and judges the first one's expiry (WARNING
within --warn days, CRITICAL within --crit days). No chain verification: certs does more work.

With --verify --trust ROOT.pem (the peer of `certs check --no-cache` that does the same work), each
file's first certificate is also verified with pyca's own verifier (webpki rules): a server verifier
for the leaf's first DNS name in its subjectAltName, trusting only the certificates of ROOT.pem, at
the time of the run, with the file's other certificates passed as intermediates. A file whose leaf
does not verify (or has no DNS name to verify it for) counts as CRITICAL, whatever its expiry, and
is counted in the output's `N unverified`. certs check does not do that for files (a chain problem is a
note, chainValid false, and the verdict stays the expiry's), so the counts of the two agree only where
every chain verifies, as in make_corpus.py's corpus: with a wrong --trust, 200 files give certs 4
critical and pyca --verify 200 critical, 200 unverified.

    benchmarks/pyca_check.py [--warn 30] [--crit 7] [--verify --trust ROOT.pem] DIR...
"""
import datetime, os, sys
from cryptography import x509
from cryptography.x509 import verification


def verifies(builder, certs):
    """True if certs[0] verifies as a server certificate for its first DNS subjectAltName."""
    try:
        san = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
        if not names:
            return False
        builder.build_server_verifier(x509.DNSName(names[0])).verify(certs[0], certs[1:])
        return True
    except (x509.ExtensionNotFound, verification.VerificationError, ValueError):
        return False


def main(argv):
    warn, crit, roots, verify, trust = 30, 7, [], False, None
    it = iter(argv)
    for a in it:
        if a == "--warn": warn = int(next(it))
        elif a == "--crit": crit = int(next(it))
        elif a == "--verify": verify = True
        elif a == "--trust": trust = next(it)
        else: roots.append(a)
    if verify and not trust:
        sys.exit("pyca_check.py: --verify needs --trust ROOT.pem")
    now = datetime.datetime.now(datetime.timezone.utc)
    if verify:
        with open(trust, "rb") as f:
            store = verification.Store(x509.load_pem_x509_certificates(f.read()))
        builder = verification.PolicyBuilder().store(store).time(now)
    counts = {"OK": 0, "WARNING": 0, "CRITICAL": 0}
    skipped = unverified = 0
    soonest = None
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(d, name)
                try:
                    with open(path, "rb") as f:
                        certs = x509.load_pem_x509_certificates(f.read())
                except (ValueError, OSError):
                    skipped += 1
                    continue
                leaf = certs[0]
                left = (leaf.not_valid_after_utc - now).total_seconds() / 86400
                status = "CRITICAL" if left < crit else "WARNING" if left < warn else "OK"
                if verify and not verifies(builder, certs):
                    unverified += 1
                    status = "CRITICAL"
                counts[status] += 1
                if soonest is None or left < soonest[0]:
                    soonest = (left, path)
    total = sum(counts.values())
    worst = "CRITICAL" if counts["CRITICAL"] else "WARNING" if counts["WARNING"] else "OK"
    print(f"PYCA {worst} - {total} certificates ({counts['CRITICAL']} critical, {counts['WARNING']} warning), "
          f"{skipped} skipped{f', {unverified} unverified' if verify else ''}, soonest {soonest[1] if soonest else '-'}")
    return {"OK": 0, "WARNING": 1, "CRITICAL": 2}[worst]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
