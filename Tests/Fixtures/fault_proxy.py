#!/usr/bin/env python3
"""An HTTPS fault-injecting proxy on loopback in front of Pebble (stdlib only).

    fault_proxy.py PORT UPSTREAM_PORT CERT KEY CA_BUNDLE RULES_JSON LOG

Forwards every request to https://127.0.0.1:UPSTREAM_PORT with the Host header unchanged (Pebble
builds its URLs from it, so the client keeps talking to the proxy). RULES_JSON is a list of
{"method": "POST", "path": "/order-plz", "statuses": [500, 500], "retry_after": "2", "hang": false}:
the first rule whose method and path prefix match and that still has statuses answers with the
next one instead of forwarding (an ACME problem document), or with "hang" never answers.
{"method": "GET", "path": "/dir", "merge_meta": {...}} adds fields to the directory's "meta"
(e.g. the profiles Debian's Pebble 2.4 does not offer); "merge_directory" adds top-level fields
(a "renewalInfo" URL). An injected status answers a problem document of "type" (default
serverInternal, rateLimited for 429) with a fresh Replay-Nonce, or "body" as it is (garbage for a
client to choke on), with "location" as its Location header (a redirect). RULES_JSON is read again
whenever it changes, so a test can change the faults between runs. Each request is logged to LOG as
"METHOD PATH STATUS" (or "hang"), POSTs followed by their decoded JWS payload.
"""
import base64, http.client, http.server, json, os, secrets, signal, ssl, sys, threading, time

port, upstream, cert, key, ca, rules_path, log_path = sys.argv[1:8]
rules = json.load(open(rules_path))
rules_mtime = os.stat(rules_path).st_mtime_ns
lock = threading.Lock()


def current_rules():
    global rules, rules_mtime
    mtime = os.stat(rules_path).st_mtime_ns
    if mtime != rules_mtime:
        rules, rules_mtime = json.load(open(rules_path)), mtime
    return rules


def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        with lock:
            rules = current_rules()
            rule = next((r for r in rules if r.get("method", self.command) == self.command
                         and self.path.startswith(r["path"]) and (r.get("statuses") or r.get("hang"))), None)
            merge = next((r["merge_meta"] for r in rules if r.get("merge_meta") and r.get("method", self.command) == self.command
                          and self.path.startswith(r["path"])), None)
            merge_dir = next((r["merge_directory"] for r in rules if r.get("merge_directory") and r.get("method", self.command) == self.command
                              and self.path.startswith(r["path"])), None)
            status = rule["statuses"].pop(0) if rule and rule.get("statuses") else None
        payload = ""
        if self.command == "POST" and body:
            try:
                p64 = json.loads(body)["payload"]
                payload = " " + base64.urlsafe_b64decode(p64 + "=" * (-len(p64) % 4)).decode("utf-8", "replace")
            except Exception:
                payload = " (not a JWS)"
        if rule and rule.get("hang"):
            log("%s %s hang" % (self.command, self.path))
            time.sleep(120)
            return
        if status is not None:
            kind = rule.get("type") or ("rateLimited" if status == 429 else "serverInternal")
            problem = json.dumps({"type": "urn:ietf:params:acme:error:" + kind, "detail": "injected %d" % status}).encode()
            if "body" in rule:
                problem = rule["body"].encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if "body" in rule else "application/problem+json")
            self.send_header("Replay-Nonce", secrets.token_urlsafe(16))
            if rule.get("location"):
                self.send_header("Location", rule["location"])
            if rule.get("retry_after"):
                self.send_header("Retry-After", rule["retry_after"])
            self.send_header("Content-Length", str(len(problem)))
            self.end_headers()
            self.wfile.write(problem)
            log("%s %s %d injected" % (self.command, self.path, status))
            return
        ctx = ssl.create_default_context(cafile=ca)
        conn = http.client.HTTPSConnection("127.0.0.1", int(upstream), context=ctx, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
        conn.request(self.command, self.path, body=body or None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        if merge is not None and resp.status == 200:
            doc = json.loads(data)
            doc.setdefault("meta", {}).update(merge)
            data = json.dumps(doc).encode()
        if merge_dir is not None and resp.status == 200:
            doc = json.loads(data)
            doc.update(merge_dir)
            data = json.dumps(doc).encode()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        log("%s %s %d%s" % (self.command, self.path, resp.status, payload))

    do_GET = do_POST = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
server = Server(("127.0.0.1", int(port)), Handler)
sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
sctx.load_cert_chain(cert, key)
server.socket = sctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
