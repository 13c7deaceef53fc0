#!/usr/bin/env python3
"""The peer of `certs check DIR` in BENCHMARKS.md: one Python process with pyca/cryptography that
walks DIR, parses every PEM certificate of every file, and judges the first one's expiry (WARNING
within --warn days, CRITICAL within --crit days). No chain verification: certs does more work.

    benchmarks/pyca_check.py [--warn 30] [--crit 7] DIR...
"""
import datetime, os, sys
from cryptography import x509


def main(argv):
    warn, crit, roots = 30, 7, []
    it = iter(argv)
    for a in it:
        if a == "--warn": warn = int(next(it))
        elif a == "--crit": crit = int(next(it))
        else: roots.append(a)
    now = datetime.datetime.now(datetime.timezone.utc)
    counts = {"OK": 0, "WARNING": 0, "CRITICAL": 0}
    skipped = 0
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
                counts[status] += 1
                if soonest is None or left < soonest[0]:
                    soonest = (left, path)
    total = sum(counts.values())
    worst = "CRITICAL" if counts["CRITICAL"] else "WARNING" if counts["WARNING"] else "OK"
    print(f"PYCA {worst} - {total} certificates ({counts['CRITICAL']} critical, {counts['WARNING']} warning), "
          f"{skipped} skipped, soonest {soonest[1] if soonest else '-'}")
    return {"OK": 0, "WARNING": 1, "CRITICAL": 2}[worst]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
