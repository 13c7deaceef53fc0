#!/usr/bin/env bash
# `certs renew --all` with nothing due, the hourly cron case: one certificate from a local Pebble,
# cloned into N store names (N=100 default; N=1000 for the big row). The first run asks the CA
# (directory, renewal information) and caches the answers; the later runs must decide from the
# cache alone: they are timed, and one of them runs with Pebble stopped.
#
#   CERTS=/path/to/certs N=100 RUNS=5 benchmarks/renew.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
N="${N:-100}"
RUNS="${RUNS:-5}"
command -v pebble >/dev/null || { echo "renew.sh: needs pebble (apt-get install pebble)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-renew-bench.XXXXXX")"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
. "$ROOT/benchmarks/pebble.sh"
start_pebble

S="$WORK/store"
"$CERTS" request r0.bench.test --acme "https://127.0.0.1:$ACME/dir" --ca-bundle ca.pem --agree-tos \
  --standalone --http-port "$HTTP" --http-address 127.0.0.1 --store "$S" >/dev/null
for i in $(seq 1 $((N - 1))); do
  cp -a "$S/live/r0.bench.test" "$S/live/r$i.bench.test"
  sed "s/r0\.bench\.test/r$i.bench.test/g" "$S/renewal/r0.bench.test.json" > "$S/renewal/r$i.bench.test.json"
done
t0=$(now_ms); "$CERTS" renew --all --store "$S" --random-delay 0 >first.out; first_ms=$(( $(now_ms) - t0 ))
tail -1 first.out
times=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ms); "$CERTS" renew --all --store "$S" --random-delay 0 >warm.out; times+=($(( $(now_ms) - t0 )))
done
kill "$PEBBLE"; wait "$PEBBLE" 2>/dev/null || true
t0=$(now_ms); "$CERTS" renew --all --store "$S" --random-delay 0 --timeout 5 >offline.out; offline_ms=$(( $(now_ms) - t0 ))
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
m=$(printf '%s\n' "${times[@]}" | median)
echo "renew --all, $N ACME certificates, none due:"
echo "  first run (asks the CA, caches its answers): ${first_ms} ms"
echo "  hourly run (cached), median of $RUNS:        ${m} ms   (runs: ${times[*]})"
echo "  hourly run with the CA stopped:              ${offline_ms} ms   ($(tail -1 offline.out))"
awk -v m="$m" -v n="$N" 'BEGIN { printf "  = %.1f ms per 100 certificates (goal <= 100 ms)\n", m * 100 / n }'
