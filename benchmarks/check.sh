#!/usr/bin/env bash
# certs check of N_ENDPOINTS (default 200) loopback TLS endpoints: one nginx process
# (worker_processes 1) listening on N_ENDPOINTS ports with an ECDSA leaf + root, checked by one
# `certs check --concurrency 32` run, against one `certs check` of a single endpoint (a handshake
# plus process start). RUNS (default 5) of each, alternating; the ratio of the medians is the
# endpoint row of benchmarks/run ("the time of X single checks"; goal <= 3). The 10,000-file rows
# are measured by benchmarks/run itself (hyperfine, against benchmarks/pyca_check.py).
# Then OpenSSL's own client (openssl s_time -new, S_TIME seconds, default 3) against the same nginx, alone
# and two at once, as the peer of the endpoints row: what 200 handshakes cost without certs.
# Ends with one machine-readable line `BENCH {json}` for benchmarks/run.
#
#   CERTS=/path/to/certs N_ENDPOINTS=200 RUNS=5 [S_TIME=3] benchmarks/check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
N_ENDPOINTS="${N_ENDPOINTS:-200}"
RUNS="${RUNS:-5}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-check-bench.XXXXXX")"
PIDS=()
# TERM first: nginx's master then stops its worker (kill -9 of the master would orphan it).
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
python3 "$ROOT/benchmarks/make_corpus.py" 2   # root.pem, leaf.key, tree/d00/e0/host0.pem (1.5 days left), tree/d01/e0/host1.pem (320.5 days)
export XDG_CACHE_HOME="$WORK/cache"
leaf=tree/d01/e0/host1.pem
# One nginx process (worker_processes 1) listening on N_ENDPOINTS loopback ports with the ECDSA leaf:
# the peers cost one process, not N_ENDPOINTS openssl s_server processes sharing the cores with certs.
# nginx cannot listen on port 0 and report it, so a random block of ports is tried until nginx binds all.
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
one="127.0.0.1:${ports[0]}@$(basename "$leaf" .pem).bench.test"
"$CERTS" check --trust root.pem --endpoint "$one" >warm.out 2>&1 || { echo "check.sh: the warm-up check failed:"; cat warm.out; exit 1; } >&2
ones=(); manys=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ms); "$CERTS" check --trust root.pem --endpoint "$one" >one.out || true; ones+=($(( $(now_ms) - t0 )))
  t0=$(now_ms); "$CERTS" check --trust root.pem --concurrency 32 "${args[@]}" >many.out || true; manys+=($(( $(now_ms) - t0 )))
done
one_ms=$(printf '%s\n' "${ones[@]}" | median); many_ms=$(printf '%s\n' "${manys[@]}" | median)
head -1 many.out | cut -c1-160
grep -q "^CERTS OK - $N_ENDPOINTS certificates" many.out || { echo "check.sh: not all $N_ENDPOINTS endpoints OK" >&2; exit 1; }
echo "one endpoint, median of $RUNS:            ${one_ms} ms (runs: ${ones[*]})"
echo "$N_ENDPOINTS endpoints (32 at once), median of $RUNS: ${many_ms} ms (runs: ${manys[*]})"
awk -v a="$many_ms" -v b="$one_ms" -v n="$N_ENDPOINTS" 'BEGIN { printf "= the time of %.1f single checks for %d endpoints\n", a / (b > 0 ? b : 1), n }'
# The peer of the endpoints row: OpenSSL's own client doing new full handshakes against the same nginx for
# S_TIME seconds (it stops by itself; timeout only guards a server that stops answering), no verification,
# no SNI (s_time of OpenSSL 3.0 has no -servername). Once alone, then two at once (one per core here); the
# wall rate is connections / measured wall time (s_time's own "connections/user sec" is per CPU second).
S_TIME="${S_TIME:-3}"
stime() { timeout $((S_TIME + 20)) openssl s_time -connect "127.0.0.1:$1" -new -time "$S_TIME" >"$2" 2>&1 || true; }
conns() { sed -n 's/^\([0-9][0-9]*\) connections in .*connections\/user sec.*/\1/p' "$1" | head -1; }
t0=$(now_ms); stime "${ports[0]}" stime1.out; st1_ms=$(( $(now_ms) - t0 ))
t0=$(now_ms); stime "${ports[0]}" stime2a.out & sa=$!; stime "${ports[1]:-${ports[0]}}" stime2b.out & sb=$!; wait "$sa" "$sb"; st2_ms=$(( $(now_ms) - t0 ))
st1_n=$(conns stime1.out); st2_n=$(( $(conns stime2a.out) + $(conns stime2b.out) ))
[ -n "$st1_n" ] && [ "$st1_n" -gt 0 ] && [ "$st2_n" -gt 0 ] || { echo "check.sh: openssl s_time made no connections:"; cat stime1.out stime2a.out stime2b.out; exit 1; } >&2
read -r st1_rate st2_rate st1_200 st2_200 < <(awk -v a="$st1_n" -v at="$st1_ms" -v b="$st2_n" -v bt="$st2_ms" -v n="$N_ENDPOINTS" \
  'BEGIN { ra = a * 1000 / at; rb = b * 1000 / bt; printf "%.1f %.1f %.1f %.1f\n", ra, rb, n * 1000 / ra, n * 1000 / rb }')
echo "openssl s_time -new, one process, ${S_TIME} s: $st1_n handshakes in $st1_ms ms = $st1_rate/s: $N_ENDPOINTS handshakes in $st1_200 ms ($(grep -m1 'connections/user sec' stime1.out))"
echo "openssl s_time -new, two at once:    $st2_n handshakes in $st2_ms ms = $st2_rate/s: $N_ENDPOINTS handshakes in $st2_200 ms"
printf 'BENCH {"suite": "endpoints", "n": %d, "certs_ms": %d, "single_ms": %d, "certs_runs": "%s", "single_runs": "%s", "certs_cmd": "certs check --trust root.pem --concurrency 32 --endpoint 127.0.0.1:PORT@host1.bench.test (x %d)", "single_cmd": "certs check --trust root.pem --endpoint 127.0.0.1:PORT@host1.bench.test", "s_time_rate": %s, "s_time_ms": %s, "s_time2_rate": %s, "s_time2_ms": %s, "s_time_cmd": "openssl s_time -connect 127.0.0.1:PORT -new -time %d"}\n' \
  "$N_ENDPOINTS" "$many_ms" "$one_ms" "${manys[*]}" "${ones[*]}" "$N_ENDPOINTS" "$st1_rate" "$st1_200" "$st2_rate" "$st2_200" "$S_TIME"
