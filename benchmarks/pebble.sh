# Sourced by benchmarks/acme.sh and benchmarks/renew.sh, from inside their work directory: a
# throwaway HTTPS CA for Pebble, pebble-challtestsrv as its DNS server and Pebble itself, all on
# loopback. `start_pebble [NAME=VALUE...]` passes extra Pebble variables and sets ACME and HTTP
# (the ACME and HTTP-01 ports) and PEBBLE (its pid); every pid goes into PIDS for the caller's trap.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

start_pebble() {
  ACME=$(port); MGMT=$(port); HTTP=$(port); DNS=$(port); CTS=$(port); TLS=$(port)
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj /CN=bench-ca -days 2 \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout pebble.key -out pebble.csr -subj /CN=localhost 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > ext
  openssl x509 -req -in pebble.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 2 -extfile ext -out pebble.pem 2>/dev/null
  cat > pebble.json <<JSON
{"pebble": {"listenAddress": "127.0.0.1:$ACME", "managementListenAddress": "127.0.0.1:$MGMT", "certificate": "$PWD/pebble.pem",
 "privateKey": "$PWD/pebble.key", "httpPort": $HTTP, "tlsPort": $TLS, "ocspResponderURL": "", "externalAccountBindingRequired": false}}
JSON
  pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -http01 "" -https01 "" -tlsalpn01 "" -defaultIPv6 "" -defaultIPv4 127.0.0.1 \
    -management "127.0.0.1:$CTS" >cts.log 2>&1 & PIDS+=($!)
  env PEBBLE_VA_NOSLEEP=1 "$@" pebble -config pebble.json -dnsserver "127.0.0.1:$DNS" >pebble.log 2>&1 & PEBBLE=$!; PIDS+=($PEBBLE)
  for _ in $(seq 1 100); do curl -s --cacert ca.pem "https://127.0.0.1:$ACME/dir" >/dev/null && break; sleep 0.1; done
}
