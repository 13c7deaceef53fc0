#!/usr/bin/env python3
"""ACME Renewal Information (RFC 9773) in front of a real Pebble, which has none (stdlib only).

    ari_fixture.py UPSTREAM_PORT CERT KEY CA_BUNDLE CONFIG_JSON LOG

Debian's Pebble 2.4.0 serves no renewalInfo endpoint and ignores `replaces`. This HTTPS server
binds 127.0.0.1 port 0, prints "port N" on its first line, and forwards every request to
https://127.0.0.1:UPSTREAM_PORT with the Host header unchanged (Pebble builds its URLs and checks
the JWS "url" from it, so the client keeps talking to this server), except:

  GET  /dir                  Pebble's directory plus "renewalInfo": "https://HOST/renewal-info"
  GET  /renewal-info/ID      the window from CONFIG_JSON (re-read on every request):
                             {"start": -3600, "end": 86400} are seconds from now (or RFC 3339
                             strings), "retry_after": "3600", "explanationURL": "https://…",
                             "body": "raw text instead of JSON", "status": 200
  POST /order-plz            with "replaces" in the payload and "already_replaced": true in
                             CONFIG_JSON: 409 and an alreadyReplaced problem (no "status" field)

"upstream_port" and "upstream_ca" in CONFIG_JSON send the forwarded requests to another Pebble
(a CA that restarted and forgot its accounts, behind the same directory URL).

  GET  /redirect/N           302 to /redirect/N-1, /redirect/0 to /dir (a moved directory)
  GET  /loop                 302 to itself, forever;  GET /to-http: 302 to http://127.0.0.1:1/dir

LOG gets one line per request: "METHOD PATH STATUS", and for orders "replaces=ID" or "no-replaces".
"""
import base64, datetime, http.client, http.server, json, signal, ssl, sys, threading, time

upstream, cert, key, ca, config_path, log_path = sys.argv[1:7]
lock = threading.Lock()


def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")


def config():
    with open(config_path) as f:
        return json.load(f)


def stamp(v):
    if isinstance(v, str):
        return v
    t = datetime.datetime.fromtimestamp(time.time() + v, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        cfg = config()
        if self.command == "GET" and (self.path.startswith("/redirect/") or self.path in ("/loop", "/to-http")):
            if self.path == "/loop":
                where = "/loop"
            elif self.path == "/to-http":
                where = "http://127.0.0.1:1/dir"
            else:
                n = int(self.path.rsplit("/", 1)[1])
                where = "/dir" if n <= 0 else "https://%s/redirect/%d" % (self.headers["Host"], n - 1)
            self.answer(302, b"", [("Location", where)])
            log("GET %s 302" % self.path)
            return
        if self.command == "GET" and self.path.startswith("/renewal-info/"):
            if "body" in cfg:
                data = cfg["body"].encode()
            else:
                doc = {"suggestedWindow": {"start": stamp(cfg.get("start", -3600)), "end": stamp(cfg.get("end", 86400))}}
                if cfg.get("explanationURL"):
                    doc["explanationURL"] = cfg["explanationURL"]
                data = json.dumps(doc).encode()
            headers = [("Content-Type", "application/json")]
            if cfg.get("retry_after"):
                headers.append(("Retry-After", cfg["retry_after"]))
            status = cfg.get("status", 200)
            self.answer(status, data, headers)
            log("GET %s %d" % (self.path, status))
            return
        note = ""
        if self.command == "POST" and self.path.startswith("/order-plz"):
            p64 = json.loads(body)["payload"]
            payload = json.loads(base64.urlsafe_b64decode(p64 + "=" * (-len(p64) % 4)))
            note = " replaces=%s" % payload["replaces"] if "replaces" in payload else " no-replaces"
            if "replaces" in payload and cfg.get("already_replaced"):
                problem = json.dumps({"type": "urn:ietf:params:acme:error:alreadyReplaced",
                                      "detail": "certificate %s was already replaced" % payload["replaces"]}).encode()
                self.answer(409, problem, [("Content-Type", "application/problem+json")])
                log("POST %s 409%s" % (self.path, note))
                return
        ctx = ssl.create_default_context(cafile=cfg.get("upstream_ca", ca))
        conn = http.client.HTTPSConnection("127.0.0.1", int(cfg.get("upstream_port", upstream)), context=ctx, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if self.command == "GET" and self.path == "/dir" and resp.status == 200:
            doc = json.loads(data)
            doc["renewalInfo"] = "https://%s/renewal-info" % self.headers["Host"]
            data = json.dumps(doc).encode()
        self.answer(resp.status, data, [(k, v) for k, v in resp.getheaders()
                                        if k.lower() not in ("connection", "content-length", "transfer-encoding")])
        log("%s %s %d%s" % (self.command, self.path, resp.status, note))

    do_GET = do_POST = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
server = Server(("127.0.0.1", 0), Handler)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(cert, key)
server.socket = sctx.wrap_socket(server.socket, server_side=True)
print("port %d" % server.server_address[1], flush=True)
server.serve_forever()
