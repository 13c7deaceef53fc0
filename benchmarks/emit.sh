#!/usr/bin/env bash
# Emitting and deploying: `certs emit nginx` for a stack of 500 domains (target: well under a
# second), and the time `certs deploy` adds beyond its own `nginx -t` + reload on a real nginx
# on loopback (3 domains, probe included).
#
#   CERTS=/path/to/certs benchmarks/emit.sh
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CERTS="${CERTS:-$ROOT/.build/release/certs}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/certs-emit-bench.XXXXXX")"
trap '"$NGINX" -s stop -c "$WORK/main.conf" -p "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cd "$WORK"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# 500 domains, two routes each.
{
  echo "domains:"
  for i in $(seq 1 500); do
    echo "  - { name: site$i.example.test, aliases: [www.site$i.example.test], routes: [ { path: /, service: backend, port: 8080 }, { path: /ws/, service: ai, port: 8000, websocket: true } ] }"
  done
  echo "services: { backend: { build: ./backend }, ai: { build: ./ai, host: 10.0.2.15 } }"
} > big.yaml
best=""
for _ in 1 2 3; do
  rm -rf out; t0=$(now_ms)
  "$CERTS" emit nginx --stack big.yaml --out out >/dev/null
  t=$(( $(now_ms) - t0 )); [[ -z "$best" || $t -lt $best ]] && best=$t
done
echo "emit nginx, 500 domains (1,000 names, 1,000 routes): ${best} ms (best of 3), $(ls out/conf.d | wc -l) files"

# Deploy on a real nginx: 3 domains.
mkdir -p www nginx/conf.d tmp
"$CERTS" ca init --store "$WORK/store" >/dev/null
for d in a b c; do "$CERTS" ca issue --store "$WORK/store" "$d.example.test" >/dev/null; done
# Free ports from the kernel (a random block could be taken: nginx's reload then fails to bind, and
# deploy's probe finds the port closed).
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
HTTP=$(port); HTTPS=$(port)
cat > stack.yaml <<YAML
domains:
  - { name: a.example.test, routes: [ { path: /, service: backend, port: 18999 } ] }
  - { name: b.example.test, routes: [ { path: /, service: backend, port: 18999 } ] }
  - { name: c.example.test, routes: [ { path: /, service: backend, port: 18999 } ] }
tls: { source: local }
services: { backend: { build: ./backend, host: 127.0.0.1, tls: plain } }
nginx: { certificates: $WORK/store, webroot: $WORK/www, http_port: $HTTP, https_port: $HTTPS }
YAML
cat > main.conf <<CONF
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events {}
http { access_log off; client_body_temp_path $WORK/tmp; proxy_temp_path $WORK/tmp; fastcgi_temp_path $WORK/tmp; uwsgi_temp_path $WORK/tmp; scgi_temp_path $WORK/tmp;
  include $WORK/nginx/conf.d/*.conf; }
CONF
"$NGINX" -c "$WORK/main.conf" -p "$WORK"
V=$("$NGINX" -v 2>&1 | sed 's|.*/||')
T="$NGINX -t -q -c $WORK/main.conf -p $WORK"; R="$NGINX -s reload -c $WORK/main.conf -p $WORK"
"$CERTS" deploy --stack stack.yaml --store store --out nginx --nginx-version "$V" --test-command "$T" --reload-command "$R" >/dev/null \
  || { echo "emit.sh: first deploy failed; nginx error.log:" >&2; tail -5 error.log >&2; exit 1; }
deploy=""; tr=""
for _ in 1 2 3; do
  t0=$(now_ms); "$CERTS" deploy --stack stack.yaml --store store --out nginx --nginx-version "$V" --test-command "$T" --reload-command "$R" >/dev/null
  t=$(( $(now_ms) - t0 )); [[ -z "$deploy" || $t -lt $deploy ]] && deploy=$t
  t0=$(now_ms); $T; $R 2>/dev/null; t=$(( $(now_ms) - t0 )); [[ -z "$tr" || $t -lt $tr ]] && tr=$t
  sleep 0.3
done
echo "deploy, 3 domains on a live nginx: ${deploy} ms; nginx -t + reload alone: ${tr} ms; certs' own share: $((deploy - tr)) ms (certificate checks, emit, swap, 3 TLS probes)"
