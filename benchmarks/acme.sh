#!/usr/bin/env bash
# ACME issuance: the same certificate (2 names, HTTP-01 standalone, P-256 key) from a local Pebble
# with `certs request` and with lego (Debian's `lego`), N times each, fresh store each time
# (account creation included). Prints the median wall time of each and the ratio.
#
#   CERTS=/path/to/certs N=5 benchmarks/acme.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
N="${N:-5}"
command -v pebble >/dev/null || { echo "acme.sh: needs pebble (apt-get install pebble)" >&2; exit 2; }
command -v lego >/dev/null || { echo "acme.sh: needs lego (apt-get install lego)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-acme-bench.XXXXXX")"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
. "$ROOT/benchmarks/pebble.sh"
# Authorization reuse off, so every run validates its challenges.
start_pebble PEBBLE_AUTHZREUSE=0

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
certs_times=(); lego_times=(); certbot_times=()
for i in $(seq 1 "$N"); do
  t0=$(now_ms)
  "$CERTS" request "c$i.bench.test" "www.c$i.bench.test" --acme "https://127.0.0.1:$ACME/dir" --ca-bundle ca.pem --agree-tos \
    --email ops@bench.test --standalone --http-port "$HTTP" --http-address 127.0.0.1 --store "$WORK/certs-$i" >/dev/null
  certs_times+=($(( $(now_ms) - t0 )))
  t0=$(now_ms)
  LEGO_CA_CERTIFICATES="$WORK/ca.pem" lego --server "https://127.0.0.1:$ACME/dir" --accept-tos --email ops@bench.test \
    --domains "l$i.bench.test" --domains "www.l$i.bench.test" --key-type ec256 --http --http.port "127.0.0.1:$HTTP" \
    --path "$WORK/lego-$i" run >lego-$i.log 2>&1 || { cat lego-$i.log >&2; exit 1; }
  lego_times+=($(( $(now_ms) - t0 )))
  if command -v certbot >/dev/null; then
    t0=$(now_ms)
    REQUESTS_CA_BUNDLE="$WORK/ca.pem" certbot certonly --non-interactive --agree-tos -m ops@bench.test --standalone \
      --http-01-port "$HTTP" --http-01-address 127.0.0.1 --server "https://127.0.0.1:$ACME/dir" --key-type ecdsa \
      -d "b$i.bench.test" -d "www.b$i.bench.test" --config-dir "$WORK/certbot-$i" --work-dir "$WORK/certbot-$i/work" \
      --logs-dir "$WORK/certbot-$i/logs" >certbot-$i.log 2>&1 || { cat certbot-$i.log >&2; exit 1; }
    certbot_times+=($(( $(now_ms) - t0 )))
  fi
done
c=$(printf '%s\n' "${certs_times[@]}" | median); l=$(printf '%s\n' "${lego_times[@]}" | median)
echo "issue 2-name certificate from Pebble (HTTP-01 standalone, new account), median of $N:"
echo "  certs request: ${c} ms   (runs: ${certs_times[*]})"
echo "  lego run:      ${l} ms   (runs: ${lego_times[*]})"
awk -v c="$c" -v l="$l" 'BEGIN { if (c > 0) printf "  lego / certs = %.2fx\n", l / c }'
if [ ${#certbot_times[@]} -gt 0 ]; then
  b=$(printf '%s\n' "${certbot_times[@]}" | median)
  echo "  certbot certonly: ${b} ms   (runs: ${certbot_times[*]})"
  awk -v c="$c" -v b="$b" 'BEGIN { if (b > 0) printf "  certs / certbot = %.2fx (goal <= 0.25x)\n", c / b }'
fi
