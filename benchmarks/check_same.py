#!/usr/bin/env python3
"""Correctness guard for performance work on `certs check`: runs two certs binaries over the same
files at the same --at time and fails unless every result (status, problems, chain verdict, facts)
is identical, with the roots given (--trust FILE) and with the system trust store.

    benchmarks/check_same.py OLD_CERTS NEW_CERTS TREE [--trust ROOT] [--at UNIX]
"""
import json, subprocess, sys


def run(binary, tree, trust, at):
    args = [binary, "check", "--json", "--at", at, "--warn", "30", "--crit", "7"] + (["--trust", trust] if trust else []) + [tree]
    p = subprocess.run(args, capture_output=True, text=True)
    if not p.stdout.strip():
        sys.exit(f"{' '.join(args)}: no output (exit {p.returncode}): {p.stderr.strip()}")
    doc = json.loads(p.stdout)
    return p.returncode, doc


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    old, new, tree = argv[:3]
    trust, at = None, "1893456000"  # 2030-01-01: some certificates expired, some due, most fine
    rest = argv[3:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--trust": trust = value
        elif flag == "--at": at = value
        else: sys.exit(f"unknown option {flag}")
    failed = False
    for label, t in ([("--trust " + trust, trust)] if trust else []) + [("the system trust store", None)]:
        (rc_old, a), (rc_new, b) = run(old, tree, t, at), run(new, tree, t, at)
        ra, rb = a.get("results", []), b.get("results", [])
        diffs = [(x, y) for x, y in zip(ra, rb) if x != y]
        same = rc_old == rc_new and len(ra) == len(rb) and not diffs and a.get("skipped") == b.get("skipped")
        statuses = {}
        for r in rb: statuses[r.get("status")] = statuses.get(r.get("status"), 0) + 1
        print(f"{label}: {len(ra)} vs {len(rb)} results, exit {rc_old} vs {rc_new}, statuses {statuses}: {'SAME' if same else 'DIFFERENT'}")
        for x, y in diffs[:3]:
            print("  old:", json.dumps(x)[:400]); print("  new:", json.dumps(y)[:400])
        failed |= not same
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
