#!/usr/bin/env bash
# ACME issuance: the same certificate (one name, HTTP-01 standalone, P-256 key) from a local Pebble
# with `certs request`, `certbot certonly` and lego (Debian packages), N times each, in turn, fresh store each time
# (account creation included). Prints the median wall time of each and the ratio. Then the same on
# acme2certifier (the venv scripts/setup makes with CERTS_TEST_DEPS=1; A2C_PYTHON overrides), which
# validates while the challenge POST is in flight, when it is installed and A2C=1 (off by default:
# it binds port 80 on 127.0.0.99, which the test suite's acme2certifier tests use too).
# Ends with one machine-readable line `BENCH {json}` (the Pebble medians) for benchmarks/run.
#
#   CERTS=/path/to/certs N=5 A2C=0 benchmarks/acme.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
N="${N:-5}"
command -v pebble >/dev/null || { echo "acme.sh: needs pebble (apt-get install pebble)" >&2; exit 2; }
command -v lego >/dev/null || { echo "acme.sh: needs lego (apt-get install lego)" >&2; exit 2; }
command -v certbot >/dev/null || { echo "acme.sh: needs certbot (apt-get install certbot)" >&2; exit 2; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-acme-bench.XXXXXX")"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
. "$ROOT/benchmarks/pebble.sh"
# Authorization reuse off, so every run validates its challenges.
start_pebble PEBBLE_AUTHZREUSE=0

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }
certs_times=(); lego_times=(); certbot_times=()
for i in $(seq 1 "$N"); do
  t0=$(now_ms)
  "$CERTS" request "c$i.bench.test" --acme "https://127.0.0.1:$ACME/dir" --ca-bundle ca.pem --agree-tos \
    --email ops@bench.test --standalone --http-port "$HTTP" --http-address 127.0.0.1 --store "$WORK/certs-$i" >/dev/null
  certs_times+=($(( $(now_ms) - t0 )))
  t0=$(now_ms)
  LEGO_CA_CERTIFICATES="$WORK/ca.pem" lego --server "https://127.0.0.1:$ACME/dir" --accept-tos --email ops@bench.test \
    --domains "l$i.bench.test" --key-type ec256 --http --http.port "127.0.0.1:$HTTP" \
    --path "$WORK/lego-$i" run >lego-$i.log 2>&1 || { cat lego-$i.log >&2; exit 1; }
  lego_times+=($(( $(now_ms) - t0 )))
  if true; then
    t0=$(now_ms)
    REQUESTS_CA_BUNDLE="$WORK/ca.pem" certbot certonly --non-interactive --agree-tos -m ops@bench.test --standalone \
      --http-01-port "$HTTP" --http-01-address 127.0.0.1 --server "https://127.0.0.1:$ACME/dir" --key-type ecdsa \
      -d "b$i.bench.test" --config-dir "$WORK/certbot-$i" --work-dir "$WORK/certbot-$i/work" \
      --logs-dir "$WORK/certbot-$i/logs" >certbot-$i.log 2>&1 || { cat certbot-$i.log >&2; exit 1; }
    certbot_times+=($(( $(now_ms) - t0 )))
  fi
done
c=$(printf '%s\n' "${certs_times[@]}" | median); l=$(printf '%s\n' "${lego_times[@]}" | median)
echo "issue a one-name certificate from Pebble (HTTP-01 standalone, new account), median of $N:"
echo "  certs request: ${c} ms   (runs: ${certs_times[*]})"
echo "  lego run:      ${l} ms   (runs: ${lego_times[*]})"
awk -v c="$c" -v l="$l" 'BEGIN { if (c > 0) printf "  lego / certs = %.2fx\n", l / c }'
if [ ${#certbot_times[@]} -gt 0 ]; then
  b=$(printf '%s\n' "${certbot_times[@]}" | median)
  echo "  certbot certonly: ${b} ms   (runs: ${certbot_times[*]})"
  awk -v c="$c" -v b="$b" 'BEGIN { if (b > 0) printf "  certs / certbot = %.2fx (goal <= 0.25x)\n", c / b }'
fi
pebble_json=$(printf '{"suite": "request", "n": %d, "certs_ms": %d, "certbot_ms": %d, "lego_ms": %d, "certs_runs": "%s", "certbot_runs": "%s", "lego_runs": "%s"}' \
  "$N" "$c" "$b" "$l" "${certs_times[*]}" "${certbot_times[*]}" "${lego_times[*]}")

# The same on acme2certifier: its WSGI app on 127.0.0.1 (Tests/Fixtures/acme2certifier_server.py),
# names resolved by a challtestsrv of its own on 127.0.0.$A2C_HOST:53, HTTP-01 on port 80 there.
A2C_PYTHON="${A2C_PYTHON:-/opt/certs-acme2certifier/bin/python3}"
if [ "${A2C:-0}" = 1 ] && [ -x "$A2C_PYTHON" ]; then
  H="127.0.0.${A2C_HOST:-99}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout a2c-ca.key -out a2c-ca.pem \
    -subj "/CN=a2c bench CA" -days 30 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  mkdir -p a2c-certs
  cat >a2c.cfg <<CFG
[DEFAULT]
dns_server_list: ["$H"]
[CAhandler]
handler_module: acme2certifier.cahandlers.openssl_ca_handler
issuing_ca_key: $WORK/a2c-ca.key
issuing_ca_cert: $WORK/a2c-ca.pem
issuing_ca_crl: $WORK/a2c-crl.pem
cert_save_path: $WORK/a2c-certs
ca_cert_chain_list: []
[DBhandler]
handler_module: acme2certifier.dbhandlers.wsgi_handler
dbfile: $WORK/a2c.db
CFG
  pebble-challtestsrv -dns01 "$H:53" -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv6 "" -defaultIPv4 "$H" \
    -management "$H:8055" >a2c-dns.log 2>&1 &
  PIDS+=($!)
  "$A2C_PYTHON" "$ROOT/Tests/Fixtures/acme2certifier_server.py" a2c.cfg a2c.port >a2c.log 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do [ -s a2c.port ] && break; sleep 0.1; done
  [ -s a2c.port ] || { echo "acme.sh: acme2certifier did not start" >&2; cat a2c.log >&2; exit 1; }
  DIR="http://127.0.0.1:$(cat a2c.port)/directory"
  certs_times=(); lego_times=(); certbot_times=()
  for i in $(seq 1 "$N"); do
    t0=$(now_ms)
    "$CERTS" request "c$i.a2c.test" "www.c$i.a2c.test" --acme "$DIR" --agree-tos --email ops@example.org --standalone \
      --http-port 80 --http-address "$H" --store "$WORK/a2c-certs-$i" >/dev/null
    certs_times+=($(( $(now_ms) - t0 )))
    t0=$(now_ms)
    lego --server "$DIR" --accept-tos --email ops@example.org --domains "l$i.a2c.test" --domains "www.l$i.a2c.test" \
      --key-type ec256 --http --http.port "$H:80" --path "$WORK/a2c-lego-$i" run >a2c-lego-$i.log 2>&1 || { cat a2c-lego-$i.log >&2; exit 1; }
    lego_times+=($(( $(now_ms) - t0 )))
    if command -v certbot >/dev/null; then
      t0=$(now_ms)
      certbot certonly --non-interactive --agree-tos -m ops@example.org --standalone --http-01-port 80 --http-01-address "$H" \
        --server "$DIR" --key-type ecdsa -d "b$i.a2c.test" -d "www.b$i.a2c.test" --config-dir "$WORK/a2c-certbot-$i" \
        --work-dir "$WORK/a2c-certbot-$i/work" --logs-dir "$WORK/a2c-certbot-$i/logs" >a2c-certbot-$i.log 2>&1 \
        || { cat a2c-certbot-$i.log >&2; exit 1; }
      certbot_times+=($(( $(now_ms) - t0 )))
    fi
  done
  c=$(printf '%s\n' "${certs_times[@]}" | median); l=$(printf '%s\n' "${lego_times[@]}" | median)
  echo "issue 2-name certificate from acme2certifier (HTTP-01 standalone, new account), median of $N:"
  echo "  certs request: ${c} ms   (runs: ${certs_times[*]})"
  echo "  lego run:      ${l} ms   (runs: ${lego_times[*]})"
  if [ ${#certbot_times[@]} -gt 0 ]; then
    b=$(printf '%s\n' "${certbot_times[@]}" | median)
    echo "  certbot certonly: ${b} ms   (runs: ${certbot_times[*]})"
  fi
fi
echo "BENCH $pebble_json"
