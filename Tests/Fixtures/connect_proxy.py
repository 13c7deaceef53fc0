#!/usr/bin/env python3
"""A small outbound HTTP proxy on loopback that records what passes through it (stdlib only).

    connect_proxy.py LOG [USER:PASS]

Binds 127.0.0.1 port 0 and prints "port N" on its first line. CONNECT host:port opens a tunnel
(https); an absolute-form request (GET http://host:port/path) is forwarded in origin form (http).
With USER:PASS, a request without the matching Proxy-Authorization gets 407. LOG gets one line
per request: "CONNECT 127.0.0.1:443 200 auth=ok" (auth=none, auth=bad), "GET http://… 200 auth=…".
"""
import base64, select, socket, sys, threading

log_path = sys.argv[1]
want = ("Basic " + base64.b64encode(sys.argv[2].encode()).decode()) if len(sys.argv) > 2 else None
lock = threading.Lock()


def log(line):
    with lock, open(log_path, "a") as f:
        f.write(line + "\n")


def relay(a, b):
    socks = [a, b]
    while True:
        r, _, _ = select.select(socks, [], [], 60)
        if not r:
            return
        for s in r:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


def handle(client):
    try:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(1)
            if not chunk:
                return
            head += chunk
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        got = headers.get("proxy-authorization")
        auth = "none" if got is None else ("ok" if got == want else "bad")
        if want and got != want:
            log("%s %s 407 auth=%s" % (method, target, auth))
            client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
            log("CONNECT %s 200 auth=%s" % (target, auth))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            relay(client, upstream)
            upstream.close()
            return
        if not target.startswith("http://"):
            client.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            log("%s %s 400 not-absolute auth=%s" % (method, target, auth))
            return
        rest = target[len("http://"):]
        authority, _, path = rest.partition("/")
        host, _, port = authority.rpartition(":") if ":" in authority else (authority, "", "80")
        upstream = socket.create_connection((host.strip("[]"), int(port or 80)), timeout=30)
        kept = [l for l in lines[1:] if l and not l.lower().startswith("proxy-authorization:")]
        upstream.sendall(("%s /%s HTTP/1.1\r\n" % (method, path) + "\r\n".join(kept) + "\r\n\r\n").encode("latin-1"))
        log("%s %s 200 auth=%s" % (method, target, auth))
        relay(client, upstream)
        upstream.close()
    except Exception as e:
        log("error %r" % (e,))
    finally:
        client.close()


server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(64)
print("port %d" % server.getsockname()[1], flush=True)
while True:
    c, _ = server.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
