#!/usr/bin/env bash
# certs check, three measurements:
#  1. 10,000 distinct PEM certificates (leaf + intermediate each) in a directory tree:
#     `certs check DIR` against `for f; do openssl x509 -enddate -noout -in "$f"; done`; ratio printed
#     (target >= 20x). certs also verifies every chain; openssl only prints the date.
#  2. 200 loopback TLS endpoints (openssl s_server processes) checked concurrently, against the
#     wall time of checking one endpoint (one handshake plus process start).
#  3. Peak RSS of `certs check` at 1,000 and 10,000 files (GNU time, else /proc polling).
#
#   CERTS=/path/to/certs N_FILES=10000 N_ENDPOINTS=200 benchmarks/check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
N_FILES="${N_FILES:-10000}"
N_ENDPOINTS="${N_ENDPOINTS:-200}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-check-bench.XXXXXX")"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "generating $N_FILES certificates (python3 cryptography)..." >&2
python3 "$ROOT/benchmarks/make_corpus.py" "$N_FILES"
find tree -name '*.pem' | sort > files.txt
first1k=$(mktemp -d "$WORK/k.XXXX"); head -1000 files.txt | while read -r f; do mkdir -p "$first1k/$(dirname "$f")"; cp "$f" "$first1k/$f"; done

echo "== 1. $N_FILES PEM files"
t0=$(now_ms); "$CERTS" check --trust root.pem --warn 30 --crit 7 tree >check.out || true; t1=$(now_ms)
certs_ms=$((t1 - t0))
head -1 check.out | cut -c1-160
t0=$(now_ms); while read -r f; do openssl x509 -enddate -noout -in "$f"; done <files.txt >openssl.out; t1=$(now_ms)
openssl_ms=$((t1 - t0))
echo "certs check:          ${certs_ms} ms"
echo "openssl x509 loop:    ${openssl_ms} ms"
awk -v a="$openssl_ms" -v b="$certs_ms" 'BEGIN { printf "ratio:                %.1fx faster (target >= 20x)\n", a / (b > 0 ? b : 1) }'

echo "== 3. peak RSS"
rss() {  # peak RSS in KiB of: certs check DIR
  if /usr/bin/time -f %M true 2>/dev/null; then
    /usr/bin/time -f %M -o rss.txt "$CERTS" check --trust root.pem "$1" >/dev/null || true; tail -1 rss.txt
  else
    "$CERTS" check --trust root.pem "$1" >/dev/null & local p=$! peak=0
    while kill -0 "$p" 2>/dev/null; do
      v=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); [ "${v:-0}" -gt "$peak" ] && peak=$v; sleep 0.01
    done; wait "$p" || true; echo "$peak"
  fi
}
echo "peak RSS, 1,000 files:  $(rss "$first1k/tree") KiB"
echo "peak RSS, $N_FILES files: $(rss tree) KiB"

echo "== 2. $N_ENDPOINTS loopback endpoints"
leaf=$(head -1 files.txt)
openssl x509 -in "$leaf" -out leaf.pem
ports=()
for i in $(seq 1 "$N_ENDPOINTS"); do
  p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  openssl s_server -accept "127.0.0.1:$p" -cert leaf.pem -key leaf.key -cert_chain root.pem -quiet >/dev/null 2>&1 </dev/null & PIDS+=($!); disown $!
  ports+=("$p")
done
for p in "${ports[@]}"; do
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && break; sleep 0.05; done
done
args=(); for p in "${ports[@]}"; do args+=(--endpoint "127.0.0.1:$p@$(basename "$leaf" .pem).bench.test"); done
"$CERTS" check --trust root.pem --endpoint "127.0.0.1:${ports[0]}@x.test" >/dev/null || true  # warm-up
t0=$(now_ms); "$CERTS" check --trust root.pem --endpoint "127.0.0.1:${ports[0]}@$(basename "$leaf" .pem).bench.test" >one.out || true; t1=$(now_ms)
one_ms=$((t1 - t0))
t0=$(now_ms); "$CERTS" check --trust root.pem --concurrency 32 "${args[@]}" >many.out || true; t1=$(now_ms)
many_ms=$((t1 - t0))
head -1 many.out | cut -c1-160
echo "one endpoint:         ${one_ms} ms"
echo "$N_ENDPOINTS endpoints (32 at once): ${many_ms} ms"
awk -v a="$many_ms" -v b="$one_ms" -v n="$N_ENDPOINTS" 'BEGIN { printf "= the time of %.1f single checks for %d endpoints\n", a / (b > 0 ? b : 1), n }'
