#!/usr/bin/env bash
# certs check, three measurements:
#  1. 10,000 distinct PEM certificates (leaf + intermediate each) in a directory tree:
#     `certs check DIR` against `for f; do openssl x509 -enddate -noout -in "$f"; done`; ratio printed
#     (target >= 20x). certs also verifies every chain; openssl only prints the date.
#  2. 200 loopback TLS endpoints (one nginx process, worker_processes 1, listening on 200 ports with
#     an ECDSA certificate) checked concurrently, against the wall time of checking one endpoint
#     (one handshake plus process start).
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
# TERM first: nginx's master then stops its worker (kill -9 of the master would orphan it).
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

echo "generating $N_FILES certificates (python3 cryptography)..." >&2
python3 "$ROOT/benchmarks/make_corpus.py" "$N_FILES"
find tree -name '*.pem' | sort > files.txt
first1k=$(mktemp -d "$WORK/k.XXXX"); head -1000 files.txt | while read -r f; do mkdir -p "$first1k/$(dirname "$f")"; cp "$f" "$first1k/$f"; done

echo "== 1. $N_FILES PEM files"
export XDG_CACHE_HOME="$WORK/cache"  # the verdict cache of these runs, nowhere else
t0=$(now_ms); "$CERTS" check --no-cache --trust root.pem --warn 30 --crit 7 tree >check.out || true; t1=$(now_ms)
cold_ms=$((t1 - t0))
"$CERTS" check --trust root.pem --warn 30 --crit 7 tree >/dev/null || true  # fills the verdict cache
t0=$(now_ms); "$CERTS" check --trust root.pem --warn 30 --crit 7 tree >check.out || true; t1=$(now_ms)
certs_ms=$((t1 - t0))
head -1 check.out | cut -c1-160
echo "certs check --no-cache (every chain verified): ${cold_ms} ms"
echo "certs check, verdict cache warm (the hourly re-check):"
t0=$(now_ms); while read -r f; do openssl x509 -enddate -noout -in "$f"; done <files.txt >openssl.out; t1=$(now_ms)
openssl_ms=$((t1 - t0))
echo "certs check:          ${certs_ms} ms"
echo "openssl x509 loop:    ${openssl_ms} ms"
awk -v a="$openssl_ms" -v b="$certs_ms" 'BEGIN { printf "ratio:                %.1fx faster (target >= 20x)\n", a / (b > 0 ? b : 1) }'

echo "== 3. peak RSS"
rss() {  # peak RSS in KiB of: certs check DIR
  if /usr/bin/time -f %M true 2>/dev/null; then
    /usr/bin/time -f %M -o rss.txt "$CERTS" check --no-cache --trust root.pem "$1" >/dev/null || true; tail -1 rss.txt
  else
    "$CERTS" check --no-cache --trust root.pem "$1" >/dev/null & local p=$! peak=0
    while kill -0 "$p" 2>/dev/null; do
      v=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0); [ "${v:-0}" -gt "$peak" ] && peak=$v; sleep 0.01
    done; wait "$p" || true; echo "$peak"
  fi
}
echo "peak RSS (--no-cache), 1,000 files:  $(rss "$first1k/tree") KiB"
echo "peak RSS (--no-cache), $N_FILES files: $(rss tree) KiB"

echo "== 2. $N_ENDPOINTS loopback endpoints"
# One nginx process (worker_processes 1) listening on N_ENDPOINTS loopback ports with the ECDSA leaf:
# the peers cost one process, not N_ENDPOINTS openssl s_server processes sharing the cores with certs.
# nginx cannot listen on port 0 and report it, so a random block of ports is tried until nginx binds all.
leaf=$(head -1 files.txt)
openssl x509 -in "$leaf" -out leaf.pem
cat leaf.pem root.pem > served.pem
mkdir -p nginx
ports=()
for attempt in $(seq 1 20); do
  base=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
  ports=(); listens=""
  for i in $(seq 0 $((N_ENDPOINTS - 1))); do ports+=($((base + i))); listens+="        listen 127.0.0.1:$((base + i)) ssl;"$'\n'; done
  cat > nginx/nginx.conf <<CONF
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
worker_processes 1;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    server {
$listens
        ssl_certificate $WORK/served.pem;
        ssl_certificate_key $WORK/leaf.key;
        location / { return 204; }
    }
}
CONF
  /usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' >nginx/stdout 2>nginx/stderr & NGINX=$!; PIDS+=($NGINX)
  up=""
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${ports[-1]}") 2>/dev/null; then up=1; break; fi
    kill -0 "$NGINX" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$up" ] && break
  kill "$NGINX" 2>/dev/null || true; wait "$NGINX" 2>/dev/null || true
  grep -q "Address already in use" nginx/stderr nginx/error.log 2>/dev/null || { cat nginx/stderr >&2; exit 1; }
done
[ -n "$up" ] || { echo "nginx could not bind $N_ENDPOINTS ports" >&2; exit 1; }
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
