#!/usr/bin/env bash
# `certs renew --all` with nothing due, the hourly cron case, for every N in NS (default "100 1000"),
# side by side with `certbot renew` on the same Pebble.
#
# certs: max(NS) distinct certificates (one name each) issued by a local Pebble with
# `certs request --webroot`, JOBS requests at a time into one store (a python3 http.server on
# Pebble's HTTP-01 port serves the webroot, so every challenge is really validated and concurrent
# requests do not compete for a port). The store of a smaller N is a copy with the other names
# removed. The first `renew --all` asks the CA (directory, renewal information) and caches the
# answers; the RUNS hourly runs after it decide from the cache; one more runs with Pebble stopped.
#
# certbot (Debian's package): one lineage from the same Pebble (`certbot certonly --webroot`),
# cloned into N lineages (archive copied, live symlinks and renewal config rewritten to the new
# name). certbot holds a lock on its config directory, so it cannot issue concurrently into one;
# its "not due" decision reads each lineage's files alone, so clones cost it what distinct
# certificates would. CERTBOT_RUNS runs each (default 1: ~0.1 s per lineage).
#
# Prints a summary and, per N, one machine-readable line `BENCH {json}` for benchmarks/run.
#
#   CERTS=/path/to/certs NS="100 1000" RUNS=5 JOBS=8 CERTBOT_RUNS=1 benchmarks/renew.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
NS="${NS:-100 1000}"
RUNS="${RUNS:-5}"
JOBS="${JOBS:-8}"
CERTBOT_RUNS="${CERTBOT_RUNS:-1}"
command -v pebble >/dev/null || { echo "renew.sh: needs pebble (apt-get install pebble)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "renew.sh: needs GNU time (apt-get install time)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-renew-bench.XXXXXX")"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
# timed CMD...: runs CMD (stdout to last.out, stderr to last.err), sets WALL and CPU (user+sys) in ms.
timed() {
  local t0; t0=$(now_ms)
  /usr/bin/time -f '%U %S' -o time.txt "$@" >last.out 2>last.err || { echo "renew.sh: failed: $*" >&2; tail -5 last.err >&2; exit 1; }
  WALL=$(( $(now_ms) - t0 ))
  CPU=$(awk 'END { printf "%d", ($1 + $2) * 1000 }' time.txt)
}
. "$ROOT/benchmarks/pebble.sh"
# No rejected nonces: the setup issues max(NS) certificates and is not what is measured.
start_pebble PEBBLE_WFE_NONCEREJECT=0
mkdir -p webroot
python3 -m http.server --bind 127.0.0.1 --directory "$WORK/webroot" "$HTTP" >http.log 2>&1 & PIDS+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break; sleep 0.1; done
DIR="https://127.0.0.1:$ACME/dir"

MAX=0; for n in $NS; do (( n > MAX )) && MAX=$n; done
S="$WORK/store-all"
request() { "$CERTS" request "r$1.bench.test" --acme "$DIR" --ca-bundle "$WORK/ca.pem" --agree-tos --webroot "$WORK/webroot" --store "$S" >/dev/null; }
export -f request; export CERTS DIR WORK S
t0=$(now_ms)
request 0   # creates the account the others reuse
seq 1 $((MAX - 1)) | xargs -P "$JOBS" -I{} bash -c 'request {}'
setup_ms=$(( $(now_ms) - t0 ))
echo "issued $MAX distinct certificates with certs request --webroot, $JOBS at a time: ${setup_ms} ms"

# certbot's lineage, then its clones.
CB="$WORK/certbot"
certbot_args=(--config-dir "$CB" --work-dir "$CB/work" --logs-dir "$CB/logs" --non-interactive)
REQUESTS_CA_BUNDLE="$WORK/ca.pem" certbot certonly "${certbot_args[@]}" --agree-tos -m ops@bench.test --server "$DIR" \
  --webroot -w "$WORK/webroot" --key-type ecdsa -d b0.bench.test >certbot-issue.log 2>&1 || { cat certbot-issue.log >&2; exit 1; }
certbot_lineages() {  # certbot_lineages N: live/archive/renewal for b0..b(N-1)
  for i in $(seq 1 $(($1 - 1))); do
    local n="b$i.bench.test"
    [ -d "$CB/archive/$n" ] && continue
    cp -a "$CB/archive/b0.bench.test" "$CB/archive/$n"
    mkdir -p "$CB/live/$n"
    for k in cert chain fullchain privkey; do ln -s "../../archive/$n/${k}1.pem" "$CB/live/$n/$k.pem"; done
    sed "s/b0\.bench\.test/$n/g" "$CB/renewal/b0.bench.test.conf" >"$CB/renewal/$n.conf"
  done
}

declare -A FIRST HOURLY HOURLY_CPU HOURLY_RUNS CB_MS CB_CPU CB_RUNS
for n in $NS; do
  s="$WORK/store-$n"
  cp -a "$S" "$s"
  for i in $(seq "$n" $((MAX - 1))); do
    rm -rf "$s/live/r$i.bench.test" "$s/archive/r$i.bench.test" "$s/renewal/r$i.bench.test.json" "$s/renewal/.r$i.bench.test.ari.json"
  done
  got=$(ls "$s/live" | wc -l); [ "$got" -eq "$n" ] || { echo "renew.sh: store-$n has $got certificates" >&2; exit 1; }
  # Every run must find all N not due: "renewed 0, not due N, failed 0".
  expect="renewed 0, not due $n, failed 0"
  nothing_due() { tail -1 last.out | grep -q "$expect" || { echo "renew.sh: expected '$expect', got: $(tail -1 last.out)" >&2; exit 1; }; }
  timed "$CERTS" renew --all --store "$s" --random-delay 0; FIRST[$n]=$WALL; nothing_due
  summary=$(tail -1 last.out)
  walls=(); cpus=()
  for _ in $(seq 1 "$RUNS"); do timed "$CERTS" renew --all --store "$s" --random-delay 0; nothing_due; walls+=("$WALL"); cpus+=("$CPU"); done
  HOURLY[$n]=$(printf '%s\n' "${walls[@]}" | median); HOURLY_CPU[$n]=$(printf '%s\n' "${cpus[@]}" | median); HOURLY_RUNS[$n]="${walls[*]}"
  certbot_lineages "$n"
  got=$(ls "$CB/renewal" | wc -l); (( got >= n )) || { echo "renew.sh: certbot has $got lineages" >&2; exit 1; }
  # certbot renew walks every lineage in renewal/: keep exactly N there.
  mkdir -p "$CB/renewal-spare"; mv "$CB"/renewal/*.conf "$CB/renewal-spare/"
  for i in $(seq 0 $((n - 1))); do mv "$CB/renewal-spare/b$i.bench.test.conf" "$CB/renewal/"; done
  walls=(); cpus=()
  for _ in $(seq 1 "$CERTBOT_RUNS"); do
    REQUESTS_CA_BUNDLE="$WORK/ca.pem" timed certbot renew "${certbot_args[@]}" --no-random-sleep-on-renew
    grep -q "No renewals were attempted" last.out last.err || { echo "renew.sh: certbot renewed something" >&2; tail -5 last.out >&2; exit 1; }
    walls+=("$WALL"); cpus+=("$CPU")
  done
  mv "$CB"/renewal-spare/*.conf "$CB/renewal/" 2>/dev/null || true
  CB_MS[$n]=$(printf '%s\n' "${walls[@]}" | median); CB_CPU[$n]=$(printf '%s\n' "${cpus[@]}" | median); CB_RUNS[$n]="${walls[*]}"
  echo "renew --all, $n ACME certificates, none due ($summary):"
  echo "  certs first run (asks the CA, caches its answers): ${FIRST[$n]} ms"
  echo "  certs hourly run (cached), median of $RUNS: ${HOURLY[$n]} ms wall, ${HOURLY_CPU[$n]} ms CPU (runs: ${HOURLY_RUNS[$n]})"
  echo "  certbot renew, $n lineages, median of $CERTBOT_RUNS: ${CB_MS[$n]} ms wall, ${CB_CPU[$n]} ms CPU (runs: ${CB_RUNS[$n]})"
done

kill "$PEBBLE"; wait "$PEBBLE" 2>/dev/null || true
for n in $NS; do
  timed "$CERTS" renew --all --store "$WORK/store-$n" --random-delay 0 --timeout 5; expect="renewed 0, not due $n, failed 0"; nothing_due
  echo "  certs hourly run, $n certificates, Pebble stopped: ${WALL} ms ($(tail -1 last.out))"
  printf 'BENCH {"suite": "renew", "n": %d, "setup": "%d distinct certificates, certs request --webroot, %d at a time, %d ms", "certs_first_ms": %d, "certs_ms": %d, "certs_cpu_ms": %d, "certs_runs": "%s", "offline_ms": %d, "certbot_ms": %d, "certbot_cpu_ms": %d, "certbot_runs": "%s"}\n' \
    "$n" "$MAX" "$JOBS" "$setup_ms" "${FIRST[$n]}" "${HOURLY[$n]}" "${HOURLY_CPU[$n]}" "${HOURLY_RUNS[$n]}" "$WALL" "${CB_MS[$n]}" "${CB_CPU[$n]}" "${CB_RUNS[$n]}"
done
