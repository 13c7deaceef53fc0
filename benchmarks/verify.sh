#!/usr/bin/env bash
# Verifying 1,000 chains: `certs verify` on all of them in one process, side by side with a shell
# loop of `openssl verify -CAfile root -untrusted chain leaf` (one process per chain, as a script
# checking a fleet's certificates would do). Prints both wall times and the ratio (target: certs
# at least 10x faster).
#
#   benchmarks/verify.sh            # builds a release binary in .build-verify-rel if needed
#   CERTS=/path/to/certs N=1000 benchmarks/verify.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N="${N:-1000}"
DISTINCT="${DISTINCT:-$N}"   # distinct leaf certificates (all from one intermediate); fewer = copies
RUNS="${RUNS:-3}"            # best of RUNS for each side

if [[ -z "${CERTS:-}" ]]; then
  for candidate in "$ROOT/.build/release/certs" "$ROOT/.build-verify-rel/release/certs"; do
    if [[ -x "$candidate" ]] && "$candidate" verify --help >/dev/null 2>&1; then CERTS="$candidate"; break; fi
  done
fi
if [[ -z "${CERTS:-}" ]]; then
  echo "building a release binary in .build-verify-rel ..." >&2
  (cd "$ROOT" && swift build -c release --scratch-path .build-verify-rel --product certs >&2)
  CERTS="$ROOT/.build-verify-rel/release/certs"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-verify-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

"$CERTS" ca init --store store >/dev/null
for i in $(seq 1 "$DISTINCT"); do
  "$CERTS" ca issue --store store "host$i.example.test" >/dev/null
done
ROOTPEM="$WORK/store/ca/root.pem"
mkdir leaves
for i in $(seq 1 "$N"); do
  k=$(( (i - 1) % DISTINCT + 1 ))
  cp "store/live/host$k.example.test/fullchain.pem" "leaves/full$i.pem"
  cp "store/live/host$k.example.test/cert.pem" "leaves/cert$i.pem"
  cp "store/live/host$k.example.test/chain.pem" "leaves/chain$i.pem"
done
FULLS=()
for i in $(seq 1 "$N"); do FULLS+=("leaves/full$i.pem"); done

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Sanity: both agree that every chain is valid.
"$CERTS" verify --trust "$ROOTPEM" "${FULLS[@]}" >/dev/null
openssl verify -CAfile "$ROOTPEM" -untrusted leaves/chain1.pem leaves/cert1.pem >/dev/null

best_certs=""
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ms)
  "$CERTS" verify --trust "$ROOTPEM" "${FULLS[@]}" >/dev/null
  t=$(( $(now_ms) - t0 ))
  if [[ -z "$best_certs" || $t -lt $best_certs ]]; then best_certs=$t; fi
done

best_openssl=""
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ms)
  for i in $(seq 1 "$N"); do
    openssl verify -CAfile "$ROOTPEM" -untrusted "leaves/chain$i.pem" "leaves/cert$i.pem" >/dev/null
  done
  t=$(( $(now_ms) - t0 ))
  if [[ -z "$best_openssl" || $t -lt $best_openssl ]]; then best_openssl=$t; fi
done

(( best_certs > 0 )) || best_certs=1
echo "verify $N chains ($DISTINCT distinct leaves + one intermediate -> root, EC P-256), best of $RUNS:"
echo "  certs verify, one process:           ${best_certs} ms  ($(awk "BEGIN{printf \"%.3f\", $best_certs/$N}") ms/chain)"
echo "  openssl verify, one process per chain: ${best_openssl} ms  ($(awk "BEGIN{printf \"%.3f\", $best_openssl/$N}") ms/chain)"
echo "  ratio certs/openssl: $(awk "BEGIN{printf \"%.3f\", $best_certs/$best_openssl}")  (certs $(awk "BEGIN{printf \"%.1f\", $best_openssl/$best_certs}")x faster; target >= 10x)"
echo "  binary: $CERTS"
